"""The synthetic corpus as Kaldi data dirs: splits, metadata, determinism, resume/clobber rules, CLI and factory."""
import hashlib
import time

import pytest
import soundfile

from tts_codec.bin import make_synthetic_corpus
from tts_codec.cli import run_main
from tts_codec.data.datadir import DataDir
from tts_codec.data.synth.corpus import CorpusConfig, make_corpus, plan_corpus
from tts_codec.data.synth.sentences import load_sentences
from tts_codec.data.table import read_table
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.testing.corpus import make_mini_corpus

SMALL = CorpusConfig(num_speakers=4, utts_per_speaker=3, dev_utts_per_speaker=1, seed=3)
EXTRA = ("spk2gender", "utt2gender", "utt2voice", "utt2espeak_rate", "utt2espeak_pitch", "utt2lang", "utt2num_samples", "utt2dur")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "corpus"
    return out, make_corpus(out, SMALL)


def _digest(out, split):
    """Tables and wav bytes of a split, with the corpus root taken out of wav.scp."""
    d = DataDir.load(out / split)
    wavs = {u: hashlib.sha1(open(p, "rb").read()).hexdigest() for u, p in d.wav_scp.items()}
    return d.text, d.utt2spk, d.extra, wavs, {u: p.replace(str(out), "") for u, p in d.wav_scp.items()}


def test_data_dirs_validate_and_carry_metadata(corpus):
    out, dirs = corpus
    assert set(dirs) == {"train", "dev", "test"}
    for split, path in dirs.items():
        report = validate_data_dir(path, check_audio=True)
        assert report.num_utts == {"train": 4, "dev": 2, "test": 6}[split]
        for name in EXTRA:
            assert (path / name).is_file(), name
        for utt, spec in read_table(path / "wav.scp").items():
            assert spec.startswith(str(out / "wav")) and soundfile.info(spec).samplerate == 16000
    train = DataDir.load(dirs["train"])
    assert train.extra["utt2voice"]["spk01_enus_m3_0000"] == "en-us+m3"
    assert train.extra["utt2lang"]["spk01_enus_m3_0000"] == "en-us"
    assert set(train.extra["spk2gender"].values()) == {"m", "f"}


def test_split_semantics(corpus):
    _, dirs = corpus
    train, dev, test = (DataDir.load(dirs[s]) for s in ("train", "dev", "test"))
    assert set(dev.speakers) == set(train.speakers)
    assert not set(test.speakers) & set(train.speakers)  # held-out speakers
    assert sorted(test.extra["spk2gender"].values()) == ["f", "m"]
    assert not set(dev.text.values()) & set(train.text.values())  # dev sentences are unseen in train


def test_prosody_varies_per_utterance():
    plan = plan_corpus(CorpusConfig(num_speakers=4, utts_per_speaker=12, seed=0))
    for spk in {u.speaker.id for u in plan}:
        mine = [u.prosody for u in plan if u.speaker.id == spk]
        assert len({p.pitch for p in mine}) > 4 and len({p.rate for p in mine}) > 4
        assert 110 <= sum(p.rate for p in mine) / len(mine) <= 150


def test_same_seed_same_bytes(corpus, tmp_path):
    out, _ = corpus
    again = make_corpus(tmp_path / "again", SMALL)
    for split in again:
        assert _digest(out, split) == _digest(tmp_path / "again", split)
    other = plan_corpus(CorpusConfig(num_speakers=4, utts_per_speaker=3, dev_utts_per_speaker=1, seed=4))
    assert [u.text for u in other] != [u.text for u in plan_corpus(SMALL)]


def test_resume_clobber_and_overwrite(corpus, tmp_path):
    out = tmp_path / "c"
    dirs = make_corpus(out, SMALL)
    wav = read_table(dirs["train"] / "wav.scp")["spk01_enus_m3_0000"]
    stamp = soundfile.info(wav).frames, (out / "wav").stat().st_mtime_ns
    make_corpus(out, SMALL)  # same config: resumes, keeps the wavs
    assert (soundfile.info(wav).frames, (out / "wav").stat().st_mtime_ns) == stamp
    bigger = CorpusConfig(num_speakers=4, utts_per_speaker=4, dev_utts_per_speaker=1, seed=3)
    with pytest.raises(UserError, match="--overwrite true"):
        make_corpus(out, bigger)
    dirs = make_corpus(out, bigger, overwrite=True)
    assert len(read_table(dirs["test"] / "utt2spk")) == 8


def test_cli_end_to_end(tmp_path, capsys):
    out, wavs = tmp_path / "cli", tmp_path / "wavs"
    argv = ["--out_dir", str(out), "--num_speakers", "3", "--num_test_speakers", "1", "--utts_per_speaker", "2",
            "--dev_utts_per_speaker", "1", "--sample_rate", "24000", "--wav_dir", str(wavs)]
    assert make_synthetic_corpus.main(argv) == 0
    validate_data_dir(out / "train")
    spec = next(iter(read_table(out / "test" / "wav.scp").values()))
    assert spec.startswith(str(wavs)) and soundfile.info(spec).samplerate == 24000
    assert run_main(make_synthetic_corpus.main, argv[:2] + ["--utts_per_speaker", "3", "--seed", "9"]) == 2
    assert "--overwrite true" in capsys.readouterr().err
    bad = ["--out_dir", str(tmp_path / "x"), "--utts_per_speaker", "2", "--dev_utts_per_speaker", "2"]
    assert run_main(make_synthetic_corpus.main, bad) == 2
    assert "--dev_utts_per_speaker" in capsys.readouterr().err


def test_mini_corpus_factory(tmp_path):
    root = make_mini_corpus(tmp_path / "a", sr=16000, n_per_voice=3)
    for split in ("train", "dev", "test"):
        validate_data_dir(root / split)
        assert all(p.startswith(str(root)) for p in read_table(root / split / "wav.scp").values())
    start = time.perf_counter()
    second = make_mini_corpus(tmp_path / "b", sr=16000, n_per_voice=3)
    assert time.perf_counter() - start < 2.0  # served from the cache
    assert DataDir.load(second / "train").text == DataDir.load(root / "train").text
    make_corpus(root, CorpusConfig(num_speakers=4, utts_per_speaker=3, dev_utts_per_speaker=1))  # copy resumes


def test_sizes_presets_and_explicit_overrides():
    from tts_codec.data.synth.corpus import SIZES, sized_config

    assert sized_config("small") == CorpusConfig()  # the CI default is unchanged
    large = sized_config("large")
    plan = plan_corpus(large)
    splits = {s: [u for u in plan if u.split == s] for s in ("train", "dev", "test")}
    assert {s: len(v) for s, v in splits.items()} == {"train": 14 * 96, "dev": 14 * 4, "test": 2 * 12}
    train_texts = {u.text for u in splits["train"]}
    assert len(train_texts) >= 500  # several hundred distinct training sentences
    eval_texts = {u.text for u in splits["dev"] + splits["test"]}
    assert not eval_texts & train_texts  # evaluation sentences are never read in training
    assert {u.speaker.id for u in splits["test"]}.isdisjoint({u.speaker.id for u in splits["train"]})
    xlarge, xxlarge = plan_corpus(sized_config("xlarge")), plan_corpus(sized_config("xxlarge"))
    assert [sum(u.split == "train" for u in plan) for plan in (xlarge, xxlarge)] == [14 * 396, 14 * 1596]
    for bigger in (xlarge, xxlarge):  # the held-out pool is the same: neither trains on the other's dev or test
        bigger_train = {u.text for u in bigger if u.split == "train"}
        assert train_texts <= bigger_train and not eval_texts & bigger_train
        assert [(u.utt_id, u.text) for u in bigger if u.split == "test"] == [
            (u.utt_id, u.text) for u in splits["test"]]
    assert len({u.text for u in xxlarge if u.split == "train"}) == 640  # every training sentence of the list
    assert sized_config("large", utts_per_speaker=10).utts_per_speaker == 10
    assert sized_config("large", num_speakers=None).num_speakers == SIZES["large"]["num_speakers"]
    with pytest.raises(UserError, match="--size"):
        sized_config("huge")


def test_speaker_count_errors_name_the_right_flag(tmp_path, capsys):
    for argv, expected in ((["--num_speakers", "0"], "--num_speakers must be in 4..16"),
                           (["--num_speakers", "3"], "--num_speakers must be in 4..16"),
                           (["--num_speakers", "3", "--num_test_speakers", "1"], None),
                           (["--num_test_speakers", "-1"], "--num_test_speakers must be >= 0")):
        if expected is None:
            CorpusConfig(num_speakers=3, num_test_speakers=1).check()
            continue
        assert run_main(make_synthetic_corpus.main, ["--out_dir", str(tmp_path / "x")] + argv) == 2
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_splice_joins_the_first_half_of_one_sentence_to_the_second_half_of_another():
    from tts_codec.data.synth.corpus import splice

    assert splice("The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.") == \
        "The birch canoe slid the dark blue background."
    assert splice("One two three.", "four five six seven.") == "One two six seven."  # odd: the head keeps the middle
    assert splice("Alone.", "Solo.") == "Alone. Solo."


def test_spliced_training_texts_leave_dev_test_and_prosody_unchanged():
    from tts_codec.data.synth.corpus import sized_config

    whole, spliced = plan_corpus(sized_config("large")), plan_corpus(sized_config("large", splice_sentences=True))
    assert [u.utt_id for u in whole] == [u.utt_id for u in spliced]
    assert [u.prosody for u in whole] == [u.prosody for u in spliced]  # same voices, pitch and rate per utterance
    evaluation = [(u.split, u.text) for u in whole if u.split != "train"]
    assert evaluation == [(u.split, u.text) for u in spliced if u.split != "train"]
    pool = set(load_sentences("harvard")) - {text for _, text in evaluation}  # the training sentences
    tails = {" ".join(t.split()[len(t.split()) // 2:]) for t in pool}
    pairs = [(a.text, b.text) for a, b in zip(whole, spliced) if a.split == "train"]
    for drawn, text in pairs:  # each reads the first half of the sentence it drew and the second half of another
        words = drawn.split()
        head = " ".join(words[: (len(words) + 1) // 2])
        assert text.startswith(head + " ") and text[len(head) + 1:] in tails
    texts = [t for _, t in pairs]
    assert len(set(texts)) >= 0.95 * len(texts) > len(pool)  # about one word sequence per utterance
    assert len({t for t in texts if t in pool}) < 0.01 * len(texts)
    assert not set(texts) & {text for _, text in evaluation}


def test_xxxlarge_extends_xxlarge_spliced_texts_and_keeps_the_held_out_pool():
    """`xxxlarge` doubles xxlarge's training utterances: the first 1596 texts of each voice are xxlarge's (same
    draws and splices), the rest new word sequences; no training text reads an evaluation sentence; test is the same."""
    from tts_codec.data.synth.corpus import sized_config

    xx = plan_corpus(sized_config("xxlarge", splice_sentences=True))
    xxx = plan_corpus(sized_config("xxxlarge", splice_sentences=True))
    train = {name: {} for name in ("xx", "xxx")}
    for name, plan in (("xx", xx), ("xxx", xxx)):
        for u in plan:
            if u.split == "train":
                train[name].setdefault(u.speaker.id, []).append(u.text)
    assert sorted(train["xx"]) == sorted(train["xxx"]) and len(train["xxx"]) == 14
    for spk, texts in train["xxx"].items():
        assert len(texts) == 3196 and texts[:1596] == train["xx"][spk]
    all_train = {t for texts in train["xxx"].values() for t in texts}
    assert len(all_train) >= 0.9 * 14 * 3196  # about one distinct word sequence per utterance
    evaluation = {u.text for u in xxx if u.split != "train"}
    heads = {" ".join(t.split()[: (len(t.split()) + 1) // 2]) for t in evaluation}
    assert not any(t.startswith(head + " ") for t in all_train for head in heads)  # no evaluation sentence is drawn
    assert [(u.utt_id, u.text) for u in xxx if u.split == "test"] == [(u.utt_id, u.text) for u in xx if u.split == "test"]


def test_splice_flag_reaches_the_corpus_and_its_info(tmp_path):
    import json

    base = ["--num_speakers", "4", "--utts_per_speaker", "3", "--dev_utts_per_speaker", "1", "--seed", "3"]
    assert make_synthetic_corpus.main(["--out_dir", str(tmp_path / "s"), *base, "--splice_sentences", "true"]) == 0
    info = json.loads((tmp_path / "s" / "synth_info.json").read_text())
    assert info["config"]["splice_sentences"] is True
    plain = plan_corpus(SMALL)
    train = DataDir.load(tmp_path / "s" / "train").text
    assert set(train) == {u.utt_id for u in plain if u.split == "train"}
    assert set(train.values()) != {u.text for u in plain if u.split == "train"}
    assert DataDir.load(tmp_path / "s" / "dev").text == {u.utt_id: u.text for u in plain if u.split == "dev"}
    assert "splice_sentences" not in json.loads(  # a corpus made without it keeps the info of older versions
        (make_corpus(tmp_path / "p", SMALL)["train"].parent / "synth_info.json").read_text())["config"]
