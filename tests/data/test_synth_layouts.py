"""The synthetic corpus in the EARS, LibriSpeech and VoxBox on-disk layouts, parsed back as a recipe would."""
import hashlib
import io
import json
import re
import tarfile

import pytest
import soundfile

from tts_codec.bin import make_synthetic_corpus
from tts_codec.cli import run_main
from tts_codec.data.synth.corpus import CorpusConfig
from tts_codec.data.synth.layouts import count_syllables, ears_keys, librispeech_text, write_layout
from tts_codec.errors import UserError

CFG = CorpusConfig(num_speakers=4, utts_per_speaker=2, dev_utts_per_speaker=1, seed=1)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    return {name: write_layout(name, base / name, CFG) for name in ("ears", "librispeech", "voxbox")}


def test_ears_layout(roots):
    root = roots["ears"]
    transcripts = json.loads((root / "transcripts.json").read_text())
    assert len(transcripts) == 115 and list(transcripts) == sorted(transcripts) == ears_keys()
    assert not any(k.startswith("p0") for k in transcripts)  # keys carry no speaker prefix
    assert transcripts["rainbow_03_fast"] == transcripts["rainbow_03_whisper"]  # one passage, many styles
    stats = json.loads((root / "speaker_statistics.json").read_text())
    assert sorted(stats) == ["p001", "p002", "p003", "p004"]
    assert [stats[p]["gender"] for p in sorted(stats)] == ["male", "female", "male", "female"]
    assert set(stats["p001"]) == {"age", "ethnicity", "gender", "weight", "native language", "height"}
    for pid in stats:
        wavs = sorted((root / pid).glob("*.wav"))
        assert len(wavs) == CFG.utts_per_speaker + 1
        for wav in wavs:
            # the correct lookup strips only the `pXXX_` prefix of an utterance id (mars6_snac.md §11)
            utt_id = f"{pid}_{wav.stem}"
            key = utt_id[len(pid) + 1:]
            assert (key in transcripts) != key.startswith("freeform_"), key
            info = soundfile.info(str(wav))
            assert info.samplerate == 48000 and info.duration > 1.0


def test_librispeech_layout(roots):
    root = roots["librispeech"]
    assert root.name == "LibriSpeech"
    flacs = sorted(root.glob("*/*/*/*.flac"))
    assert len(flacs) == CFG.num_speakers * CFG.utts_per_speaker
    for flac in flacs:
        part, reader, chapter = flac.parts[-4:-1]
        assert part in ("train-clean-100", "dev-clean", "test-clean")
        assert re.fullmatch(rf"{reader}-{chapter}-\d{{4}}", flac.stem)
        assert soundfile.info(str(flac)).samplerate == 16000
    trans = {}
    for path in root.glob("*/*/*/*.trans.txt"):
        assert path.name == f"{path.parent.parent.name}-{path.parent.name}.trans.txt"
        for line in path.read_text().splitlines():
            utt, text = line.split(" ", 1)
            assert text == text.upper() and re.fullmatch(r"[A-Z' ]+", text)
            assert (path.parent / f"{utt}.flac").is_file()
            trans[utt] = text
    assert len(trans) == len(flacs)
    rows = [ln.split("|") for ln in (root / "SPEAKERS.TXT").read_text().splitlines() if not ln.startswith(";")]
    sex = {r[0].strip(): r[1].strip() for r in rows}
    assert sex == {"101": "M", "102": "F", "103": "M", "104": "F"}
    assert {r[2].strip() for r in rows} == {"train-clean-100", "test-clean"}
    chapters = [ln.split("|") for ln in (root / "CHAPTERS.TXT").read_text().splitlines() if not ln.startswith(";")]
    assert {c[0].strip() for c in chapters} == {p.parent.name for p in flacs}


def test_voxbox_layout(roots):
    root = roots["voxbox"]
    records = [json.loads(ln) for ln in (root / "metadata" / "espeak.jsonl").read_text().splitlines()]
    assert len(records) == CFG.num_speakers * CFG.utts_per_speaker
    fields = {"index", "split", "language", "age", "gender", "emotion", "pitch", "pitch_std", "speed", "duration",
              "speech_duration", "syllable_num", "text", "syllables", "wav_path"}
    assert all(set(r) == fields for r in records)
    assert [r["index"] for r in records] == [f"ESPEAK_{i:010d}" for i in range(len(records))]
    assert {r["split"] for r in records} == {"train", "test"}
    shards = sorted((root / "audios" / "espeak").glob("espeak_*.tar.gz"))
    assert [s.name for s in shards] == ["espeak_0000.tar.gz"]
    with tarfile.open(shards[0]) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    for rec in records:
        wav, sr = soundfile.read(io.BytesIO(members[f"{rec['index']}.flac"]))
        assert sr == 16000 and rec["duration"] == pytest.approx(len(wav) / sr, abs=0.01)
        assert rec["wav_path"] == f"espeak/{rec['index']}.flac"
        low, high = (90, 150) if rec["gender"] == "male" else (150, 300)
        assert low < rec["pitch"] < high, rec
        assert 1.5 < rec["speed"] < 7.0 and rec["syllable_num"] >= 5


def test_voxbox_shards_are_reproducible(roots, tmp_path):
    again = write_layout("voxbox", tmp_path / "vb", CFG)
    for name in ("audios/espeak/espeak_0000.tar.gz", "metadata/espeak.jsonl"):
        digest = [hashlib.sha1((r / name).read_bytes()).hexdigest() for r in (roots["voxbox"], again)]
        assert digest[0] == digest[1], name


def test_text_helpers():
    assert librispeech_text("It's easy to tell the depth of a well.") == "IT'S EASY TO TELL THE DEPTH OF A WELL"
    assert librispeech_text("A zestful food is the hot-cross bun.") == "A ZESTFUL FOOD IS THE HOT CROSS BUN"
    assert count_syllables("həlˈoʊ wˈɜːld") == 3


def test_cli_layout_and_clobber(tmp_path, capsys):
    out = tmp_path / "ls"
    argv = ["--out_dir", str(out), "--layout", "librispeech", "--num_speakers", "3", "--num_test_speakers", "1",
            "--utts_per_speaker", "2", "--dev_utts_per_speaker", "0"]
    assert make_synthetic_corpus.main(argv) == 0
    assert len(list(out.glob("LibriSpeech/*/*/*/*.flac"))) == 6
    assert run_main(make_synthetic_corpus.main, argv) == 2
    assert "--overwrite true" in capsys.readouterr().err
    assert make_synthetic_corpus.main(argv + ["--overwrite", "true"]) == 0
    with pytest.raises(UserError, match="--layout"):
        write_layout("timit", tmp_path / "t", CFG)
    assert sorted(p.name for p in out.glob("LibriSpeech/*.TXT")) == ["BOOKS.TXT", "CHAPTERS.TXT", "SPEAKERS.TXT"]
