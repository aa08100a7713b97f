"""EARS data preparation (tts_codec.recipes.ears) on a synthetic corpus in the EARS layout, and stages 1-2 of
egs/ears/tts1 on it."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from tts_codec.data.datadir import DataDir
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.recipes.ears import item_style, prepare_ears
from tts_codec.testing.corpus_recipes import FIXTURE, make_fixture_corpus, run_corpus_recipe

#: 12 items per speaker, so that some share a style or are emotions: the zero-shot list pairs within those
CFG = dataclasses.replace(FIXTURE, utts_per_speaker=12)
SPLITS = {"train": "p001-p002", "dev": "p003", "test": "p004"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_fixture_corpus("ears", tmp_path_factory.mktemp("ears"), CFG)


@pytest.fixture
def corpus_copy(corpus, tmp_path) -> Path:
    return Path(shutil.copytree(corpus, tmp_path / "ears"))


def test_transcribed_items_become_data_dirs_keyed_with_the_speaker_prefix(corpus, tmp_path, caplog):
    counts = prepare_ears(corpus, tmp_path / "data", SPLITS)
    assert counts == {"train": 2 * CFG.utts_per_speaker, "dev": CFG.utts_per_speaker,
                      "test": CFG.utts_per_speaker}
    transcripts = json.loads((corpus / "transcripts.json").read_text())
    for name in SPLITS:
        validate_data_dir(tmp_path / "data" / name)
        data = DataDir.load(tmp_path / "data" / name)
        for utt in data.utt_ids:
            spk, key = utt[:4], utt[5:]
            assert data.utt2spk[utt] == spk and data.text[utt] == transcripts[key]  # prefix stripped, nothing else
            assert data.wav_scp[utt] == str((corpus / spk / f"{key}.wav").resolve())
            assert (data.extra["utt2style"][utt], data.extra["utt2emotion"][utt]) == item_style(key)
    train = DataDir.load(tmp_path / "data" / "train")
    assert train.extra["spk2gender"] == {"p001": "m", "p002": "f"}
    assert set(train.extra["utt2gender"].values()) == {"male", "female"}
    assert train.extra["spk2native_language"]["p001"] in ("american_english", "british_english")
    # the freeform file of each of the 4 speakers has no transcript: counted, left out
    assert "4 items skipped: no transcript" in caplog.text


def test_item_style():
    assert item_style("rainbow_03_slow") == ("slow", "neutral")
    assert item_style("sentences_12_highpitch") == ("highpitch", "neutral")
    assert item_style("emo_fear_sentences") == ("regular", "fear")


def test_unreadable_audio_and_missing_transcripts_are_skipped_and_counted(corpus_copy, tmp_path, caplog):
    wav = sorted((corpus_copy / "p001").glob("[er]*.wav"))[0]
    wav.write_bytes(b"not audio")
    transcripts = json.loads((corpus_copy / "transcripts.json").read_text())
    victim = sorted((corpus_copy / "p002").glob("[er]*.wav"))[-1].stem
    del transcripts[victim]  # for every speaker
    (corpus_copy / "transcripts.json").write_text(json.dumps(transcripts))
    counts = prepare_ears(corpus_copy, tmp_path / "data", SPLITS)
    assert counts["train"] == 2 * CFG.utts_per_speaker - 2 - (wav.stem != victim)
    assert "unreadable audio" in caplog.text and str(wav) in caplog.text
    assert "8 items skipped: no transcript" in caplog.text  # 4 freeform + 4 speakers' victim item


@pytest.mark.parametrize("missing", ["transcripts.json", "speaker_statistics.json"])
def test_missing_metadata_is_an_error_naming_the_file(corpus_copy, tmp_path, missing):
    (corpus_copy / missing).unlink()
    with pytest.raises(UserError, match=f"{missing}: no such file"):
        prepare_ears(corpus_copy, tmp_path / "data", SPLITS)
    assert not (tmp_path / "data").exists()


def test_bad_roots_and_empty_splits(corpus, tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        prepare_ears(tmp_path / "nope", tmp_path / "data")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no speaker directories"):
        prepare_ears(tmp_path / "empty", tmp_path / "data")
    with pytest.raises(UserError, match="set 'dev' has no utterances"):  # the default split: p100-p101 absent
        prepare_ears(corpus, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_recipe_stages_1_2(corpus, tmp_path):
    opts = "--train_speakers p001-p002 --dev_speakers p003 --test_speakers p004"
    recipe, proc = run_corpus_recipe("ears", corpus, tmp_path, "--stop_stage", "2", "--nj", "2",
                                     "--local_data_opts", opts)
    assert proc.returncode == 0
    for name in ("train", "dev", "test"):
        validate_data_dir(recipe / "dump" / "raw" / name)
        assert len(DataDir.load(recipe / "dump" / "raw" / name)) == len(DataDir.load(recipe / "data" / name))
    pairs = [ln.split("|") for ln in (recipe / "data" / "test_clone" / "meta.lst").read_text().splitlines()]
    assert len(pairs) >= CFG.utts_per_speaker // 2
    for utt, prompt_text, prompt_wav, text, wav in pairs:  # a same-speaker prompt with other content
        assert Path(prompt_wav).parent.name == Path(wav).parent.name == utt[:4] == "p004"
        assert prompt_text != text and Path(wav).stem == utt[5:]


def test_recipe_help_documents_the_data_options(tmp_path):
    _, proc = run_corpus_recipe("ears", tmp_path, tmp_path, "--help")
    assert proc.returncode == 0
    for text in ("--test_speakers [p102-p107]", "--download [false]", "1 data preparation", "--stop_stage"):
        assert text in proc.stdout + proc.stderr
