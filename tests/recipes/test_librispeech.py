"""LibriSpeech data preparation (tts_codec.recipes.librispeech) on a synthetic corpus in the LibriSpeech layout,
and stages 1-2 of egs/librispeech/tts1 on it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tts_codec.data.datadir import DataDir
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.recipes.librispeech import prepare_librispeech, read_speakers
from tts_codec.testing.corpus_recipes import make_fixture_corpus, run_corpus_recipe

SUBSETS = ["train-clean-100", "dev-clean", "test-clean"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_fixture_corpus("librispeech", tmp_path_factory.mktemp("ls")) / "LibriSpeech"


@pytest.fixture
def corpus_copy(corpus, tmp_path) -> Path:
    return Path(shutil.copytree(corpus, tmp_path / "LibriSpeech"))


def _trans(root: Path) -> dict[str, str]:
    lines = [ln for p in root.glob("*/*/*/*.trans.txt") for ln in p.read_text().splitlines()]
    return dict(ln.split(" ", 1) for ln in lines)


def test_subsets_become_data_dirs_with_readers_as_speakers(corpus, tmp_path):
    counts = prepare_librispeech(corpus, tmp_path / "data", SUBSETS)
    flacs = {p.stem: p for p in corpus.glob("*/*/*/*.flac")}
    assert sum(counts.values()) == len(flacs) and set(counts) == {"train_clean_100", "dev_clean", "test_clean"}
    trans = _trans(corpus)
    genders = read_speakers(corpus / "SPEAKERS.TXT")
    for name in counts:
        validate_data_dir(tmp_path / "data" / name)
        data = DataDir.load(tmp_path / "data" / name)
        for utt in data.utt_ids:
            reader = utt.split("-")[0]
            assert data.utt2spk[utt] == reader and data.text[utt] == trans[utt]
            assert data.wav_scp[utt] == str(flacs[utt].resolve()) and flacs[utt].parts[-4] == name.replace("_", "-")
            assert data.extra["spk2gender"][reader] == genders[reader][0]
            assert data.extra["utt2chapter"][utt] == utt.rsplit("-", 1)[0]
    assert genders == {"101": "male", "102": "female", "103": "male", "104": "female"}


def test_partial_subsets_are_skipped_and_counted(corpus_copy, tmp_path, caplog):
    flacs = sorted(corpus_copy.glob("train-clean-100/*/*/*.flac"))
    flacs[0].unlink()  # a transcript line without audio
    flacs[1].write_bytes(b"")  # unreadable
    trans = next(corpus_copy.glob("test-clean/*/*/*.trans.txt"))
    trans.write_text("".join(ln + "\n" for ln in trans.read_text().splitlines()[1:]))  # audio without transcript
    counts = prepare_librispeech(corpus_copy, tmp_path / "data", SUBSETS)
    assert counts["train_clean_100"] == len(flacs) - 2
    for reason in ("1 items skipped: transcript without audio", "1 items skipped: unreadable audio",
                   "1 items skipped: audio without transcript"):
        assert reason in caplog.text


def test_bad_inputs_are_errors_naming_the_culprit(corpus_copy, tmp_path):
    with pytest.raises(UserError, match="unknown LibriSpeech subset 'test-cleen'"):
        prepare_librispeech(corpus_copy, tmp_path / "data", ["test-cleen"])
    with pytest.raises(UserError, match=r"LibriSpeech subset .*dev-other: no such directory"):
        prepare_librispeech(corpus_copy, tmp_path / "data", ["dev-other"])
    trans = next(corpus_copy.glob("dev-clean/*/*/*.trans.txt"))
    trans.write_text("garbage\n")
    with pytest.raises(UserError, match=rf"{trans.name}:1: expected"):
        prepare_librispeech(corpus_copy, tmp_path / "data", ["dev-clean"])
    (corpus_copy / "SPEAKERS.TXT").write_text("101 | X | train-clean-100 | 1.0 | name\n")
    with pytest.raises(UserError, match=r"SPEAKERS.TXT:1: expected `reader \| F or M"):
        prepare_librispeech(corpus_copy, tmp_path / "data", ["dev-clean"])
    (corpus_copy / "SPEAKERS.TXT").unlink()
    with pytest.raises(UserError, match="SPEAKERS.TXT: no such file"):
        prepare_librispeech(corpus_copy, tmp_path / "data", ["dev-clean"])
    assert not (tmp_path / "data").exists()


def test_recipe_stages_1_2(corpus, tmp_path):
    recipe, proc = run_corpus_recipe("librispeech", corpus.parent, tmp_path, "--stop_stage", "2", "--nj", "2")
    assert proc.returncode == 0
    train = DataDir.load(recipe / "data" / "train")
    assert train.utt_ids == DataDir.load(recipe / "data" / "train_clean_100").utt_ids
    for name in ("train", "dev_clean", "test_clean"):
        validate_data_dir(recipe / "dump" / "raw" / name)


def test_recipe_without_a_corpus_says_where_to_put_it(tmp_path):
    _, proc = run_corpus_recipe("librispeech", tmp_path / "nowhere", tmp_path, "--stop_stage", "1")
    assert proc.returncode != 0 and "LibriSpeech' does not exist: set LIBRISPEECH" in proc.stderr
