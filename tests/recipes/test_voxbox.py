"""VoxBox data preparation (tts_codec.recipes.voxbox) on a synthetic corpus in the VoxBox layout (metadata jsonl +
WebDataset tar.gz shards, read in place through a tar index), and stages 1-2 of egs/voxbox/tts1 on it."""
from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import soundfile

from tts_codec.data.audio import read_audio
from tts_codec.data.datadir import DataDir
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.recipes.voxbox import prepare_voxbox, spark_labels
from tts_codec.testing.corpus_recipes import make_fixture_corpus, run_corpus_recipe

FIELDS = {"split": "utt2split", "language": "utt2lang", "age": "utt2age", "emotion": "utt2emotion",
          "pitch": "utt2pitch_hz", "pitch_std": "utt2pitch_std", "speed": "utt2speed_sps",
          "duration": "utt2duration", "speech_duration": "utt2speech_duration", "syllable_num": "utt2syllable_num",
          "syllables": "utt2syllables", "wav_path": "utt2wav_path"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_fixture_corpus("voxbox", tmp_path_factory.mktemp("vb"))


@pytest.fixture
def corpus_copy(corpus, tmp_path) -> Path:
    return Path(shutil.copytree(corpus, tmp_path / "voxbox"))


def _records(root: Path, corpus: str = "espeak") -> list[dict]:
    return [json.loads(ln) for ln in (root / "metadata" / f"{corpus}.jsonl").read_text().splitlines()]


def _shard_audio(root: Path) -> dict[str, bytes]:
    with tarfile.open(next((root / "audios" / "espeak").glob("*.tar.gz"))) as tar:
        return {m.name.split(".")[0]: tar.extractfile(m).read() for m in tar.getmembers()}


def test_records_become_data_dirs_read_from_the_shards(corpus, tmp_path):
    counts = prepare_voxbox(corpus, tmp_path / "data", tmp_path / "cache", num_dev=2)
    records = {r["index"]: r for r in _records(corpus)}
    n_test = sum(r["split"] == "test" for r in records.values())
    assert counts == {"train": len(records) - n_test - 2, "dev": 2, "test": n_test}
    audio = _shard_audio(corpus)
    for name in counts:
        validate_data_dir(tmp_path / "data" / name)  # runs every wav.scp pipe
        data = DataDir.load(tmp_path / "data" / name)
        for utt in data.utt_ids:
            rec = records[utt]
            assert data.utt2spk[utt] == utt and data.text[utt] == rec["text"]
            wav, sr = read_audio(data.wav_scp[utt])
            ref, ref_sr = soundfile.read(io.BytesIO(audio[utt]), dtype="float32")
            assert sr == ref_sr and (wav == ref).all()
            for field, file in FIELDS.items():
                assert data.extra[file][utt] == str(rec[field]), file
            for file, value in spark_labels(rec).items():
                assert data.extra[file][utt] == value
            assert data.extra["utt2corpus"][utt] == "espeak"
    assert not list((tmp_path / "cache").rglob("*.flac"))  # no member was extracted
    assert sorted(p.name for p in (tmp_path / "cache" / "espeak").iterdir()) == ["espeak_0000.tar",
                                                                                  "espeak_0000.tar.idx"]


def test_spark_levels_from_metadata():
    rec = {"gender": "male", "pitch": 110.0, "speed": 3.2, "language": "en"}
    assert spark_labels(rec) == {"utt2gender": "male", "utt2pitch": "moderate", "utt2pitch_value": "164",
                                 "utt2speed": "low", "utt2speed_value": "3"}
    rec = {"gender": "female", "pitch": 230.0, "speed": 7.0, "language": "zh"}  # mel 320: above 313.2
    assert spark_labels(rec)["utt2pitch"] == "high" and spark_labels(rec)["utt2speed"] == "very_high"
    assert spark_labels({"gender": "?", "pitch": 200.0, "language": "xx", "speed": 4})["utt2pitch"] == "unknown"
    assert spark_labels({})["utt2speed_value"] == "unknown"


def test_selection_of_languages_and_corpora(corpus_copy, tmp_path):
    records = _records(corpus_copy)
    for rec in records[::2]:
        rec["language"] = "zh"
    (corpus_copy / "metadata" / "espeak.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    counts = prepare_voxbox(corpus_copy, tmp_path / "data", tmp_path / "cache", languages=["en"], num_dev=1,
                            corpora=["espeak"])
    assert sum(counts.values()) == len(records[1::2])
    with pytest.raises(UserError, match="--corpora: 'VCTK' has no metadata file"):
        prepare_voxbox(corpus_copy, tmp_path / "d2", tmp_path / "cache", corpora=["VCTK"])


def test_missing_audio_and_text_are_skipped_and_counted(corpus_copy, tmp_path, caplog):
    records = _records(corpus_copy)
    records[0]["text"] = " "
    records.append(dict(records[1], index="ESPEAK_9999999999"))  # not in any shard (partial download)
    (corpus_copy / "metadata" / "espeak.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    counts = prepare_voxbox(corpus_copy, tmp_path / "data", tmp_path / "cache", num_dev=1)
    assert sum(counts.values()) == len(records) - 2
    assert "1 items skipped: no text" in caplog.text
    assert "1 items skipped: audio not in the downloaded shards (first: ESPEAK_9999999999)" in caplog.text


def test_corrupt_inputs_are_errors_naming_the_culprit(corpus_copy, tmp_path):
    meta = corpus_copy / "metadata" / "espeak.jsonl"
    lines = meta.read_text().splitlines()
    meta.write_text("\n".join(lines[:2] + ["{not json"] + lines[2:]) + "\n")
    with pytest.raises(UserError, match=r"espeak.jsonl:3: not a JSON record"):
        prepare_voxbox(corpus_copy, tmp_path / "data", tmp_path / "cache")
    meta.write_text("\n".join(lines) + "\n")
    shard = next((corpus_copy / "audios" / "espeak").glob("*.tar.gz"))
    shard.write_bytes(shard.read_bytes()[:5000])
    with pytest.raises(UserError, match=rf"shard .*{shard.name} is corrupt or truncated"):
        prepare_voxbox(corpus_copy, tmp_path / "data", tmp_path / "cache")
    with pytest.raises(UserError, match="no metadata/<corpus>.jsonl"):
        prepare_voxbox(tmp_path / "nope", tmp_path / "data", tmp_path / "cache")
    assert not (tmp_path / "data").exists() and not list((tmp_path / "cache").rglob("*.tar"))


def test_recipe_stages_1_2(corpus, tmp_path):
    recipe, proc = run_corpus_recipe("voxbox", corpus, tmp_path, "--stop_stage", "2", "--nj", "2",
                                     "--local_data_opts", "--num_dev 2 --languages en")
    assert proc.returncode == 0
    for name in ("train", "dev", "test"):
        validate_data_dir(recipe / "dump" / "raw" / name)
    dump = DataDir.load(recipe / "dump" / "raw" / "train")
    assert "utt2pitch_hz" in dump.extra and "utt2num_samples" in dump.extra
