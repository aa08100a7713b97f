"""Evaluation lists: Seed-TTS meta.lst, EARS same-speaker pairs and trials, codec subsets, item building."""
import numpy as np
import pytest

from tts_codec.bin import make_eval_list
from tts_codec.cli import run_main
from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import write_table
from tts_codec.errors import UserError
from tts_codec.eval.eer import read_trials
from tts_codec.eval.protocols import (MetaEntry, build_items, clone_pairs, ears_pairs, pair_trials, parse_speakers, read_meta_lst,
                                      write_meta_lst)

EARS_UTTS = [
    "p102_sentences_11_highpitch", "p102_sentences_12_highpitch", "p102_rainbow_01_highpitch",
    "p102_sentences_01_fast", "p102_emo_anger_sentences", "p102_emo_sadness_sentences", "p102_emo_relief_sentences",
    "p103_sentences_11_highpitch", "p103_rainbow_01_highpitch", "p103_emo_anger_sentences",
    "p103_emo_sadness_sentences", "p001_rainbow_01_fast", "p001_rainbow_02_fast", "p102_freeform_speech_01",
]


def test_meta_lst_round_trip_and_relative_paths(tmp_path):
    lst = tmp_path / "en" / "meta.lst"
    lst.parent.mkdir()
    lst.write_text("u1|hello there|prompt/u1.wav|say this\nu0|hi|/abs/p.wav|and this|gt/u0.wav\n")
    entries = read_meta_lst(lst)
    assert entries[0] == MetaEntry("u1", "hello there", str(tmp_path / "en/prompt/u1.wav"), "say this", None)
    assert entries[1].gt_wav == str(tmp_path / "en/gt/u0.wav") and entries[1].prompt_wav == "/abs/p.wav"
    write_meta_lst(tmp_path / "out.lst", entries)
    assert read_meta_lst(tmp_path / "out.lst") == sorted(entries)
    lst.write_text("u1|a|b.wav|c\nu2|six|fields|are|too|many\n")
    with pytest.raises(UserError, match=r"meta.lst:2: expected 2, 3, 4 or 5"):
        read_meta_lst(lst)
    with pytest.raises(UserError, match="contains `|`"):
        write_meta_lst(tmp_path / "bad.lst", [MetaEntry("u", "t", "sox a.wav -t wav - |", "x")])


def test_ears_pairs_follow_the_mars6_design():
    pairs = ears_pairs(EARS_UTTS, parse_speakers("p102-p107"))
    # styles: same speaker, same style, other content; emotions: same speaker, other emotion
    assert pairs["p102_sentences_11_highpitch"] == "p102_sentences_12_highpitch"
    assert pairs["p102_sentences_12_highpitch"] == "p102_rainbow_01_highpitch"
    assert pairs["p102_rainbow_01_highpitch"] == "p102_sentences_11_highpitch"
    assert pairs["p102_emo_anger_sentences"] == "p102_emo_relief_sentences"
    assert pairs["p102_emo_sadness_sentences"] == "p102_emo_anger_sentences"
    assert "p102_sentences_01_fast" not in pairs  # no other fast item of p102
    assert not any(u.startswith("p001") for u in pairs)  # not a held-out test speaker
    assert "p102_freeform_speech_01" not in pairs
    for target, prompt in pairs.items():
        assert target[:4] == prompt[:4] and target != prompt


def test_pair_trials_have_targets_and_nontargets():
    pairs = ears_pairs(EARS_UTTS, ("p102", "p103"))
    trials = pair_trials(pairs, {u: u[:4] for u in EARS_UTTS})
    targets = [t for t in trials if t.target]
    nontargets = [t for t in trials if not t.target]
    assert len(targets) == len(nontargets) == len(pairs)
    assert all(t.enroll[:4] == t.test[:4] for t in targets)
    assert all(t.enroll[:4] != t.test[:4] for t in nontargets)


def make_ears_dir(root):
    wav_scp, text = {}, {}
    for k, utt in enumerate(EARS_UTTS):
        path = root / "wav" / f"{utt}.wav"
        write_wav(path, 0.1 * np.sin(np.arange(1600 * (k + 1)) * 0.05), 16000)
        wav_scp[utt], text[utt] = str(path), f"text of {utt.split('_', 1)[1]}"
    data = root / "data"
    write_table(data / "wav.scp", wav_scp)
    write_table(data / "text", text)
    write_table(data / "utt2spk", {u: u[:4] for u in EARS_UTTS})
    return data


def test_make_eval_list_ears_and_codec(tmp_path):
    data = make_ears_dir(tmp_path)
    out = tmp_path / "ears"
    assert run_main(make_eval_list.main, ["ears", "--data_dir", str(data), "--out_dir", str(out)]) == 0
    entries = {e.utt: e for e in read_meta_lst(out / "meta.lst")}
    e = entries["p102_emo_anger_sentences"]
    assert e.prompt_text == "text of emo_relief_sentences" and e.infer_text == "text of emo_anger_sentences"
    assert e.prompt_wav.endswith("p102_emo_relief_sentences.wav") and e.gt_wav.endswith("p102_emo_anger_sentences.wav")
    assert len(read_trials(out / "trials")) == 2 * len(entries)
    codec = tmp_path / "codec"
    argv = ["codec", "--data_dir", str(data), "--out_dir", str(codec), "--min_dur", "0.3", "--max_utts", "4"]
    assert run_main(make_eval_list.main, argv) == 0
    subset = DataDir.load(codec)
    assert len(subset) == 4 and all(subset.load_audio(u).size >= 0.3 * 16000 for u in subset.utt_ids)


def test_make_eval_list_seed(tmp_path, capsys):
    lst = tmp_path / "meta.lst"
    lst.write_text("b|prompt b|pb.wav|target b|gb.wav\na|prompt a|pa.wav|target a|ga.wav\n")
    for name in ("pa", "pb", "ga", "gb"):  # the list is checked: every wav must exist
        (tmp_path / f"{name}.wav").touch()
    assert run_main(make_eval_list.main, ["seed", "--meta_lst", str(lst), "--out_dir", str(tmp_path / "d")]) == 0
    data = DataDir.load(tmp_path / "d")
    assert data.text == {"a": "target a", "b": "target b"}
    assert data.extra["prompt.scp"]["a"] == str(tmp_path / "pa.wav")
    assert run_main(make_eval_list.main, ["seed", "--out_dir", str(tmp_path / "e")]) == 2
    assert "seed needs --meta_lst" in capsys.readouterr().err


def test_build_items_joins_lists_and_labels(tmp_path):
    data = make_ears_dir(tmp_path)
    write_table(data / "utt2pitch", {u: "high" for u in EARS_UTTS})
    write_table(data / "spk2gender", {"p102": "f", "p103": "m", "p001": "f"})
    write_table(tmp_path / "gen.scp", {"p102_emo_anger_sentences": "/gen/a.wav", "zz_extra": "/gen/z.wav"})
    items = build_items(str(data), str(tmp_path / "gen.scp"))
    assert [i.utt for i in items] == sorted(EARS_UTTS)
    item = {i.utt: i for i in items}["p102_emo_anger_sentences"]
    assert item.gen == "/gen/a.wav" and item.text == "text of emo_anger_sentences"
    assert item.labels == {"pitch": "high", "gender": "female"}
    part = build_items(str(data), str(tmp_path / "gen.scp"), nj=3, nj_part=3)
    assert 0 < len(part) < len(EARS_UTTS)
    write_table(data / "utt2pitch", {u: "shrill" for u in EARS_UTTS})
    with pytest.raises(UserError, match="utt2pitch / spk2gender entry for"):
        build_items(str(data), str(tmp_path / "gen.scp"))


def test_segments_become_spans_and_load(tmp_path):
    from tts_codec.eval.scoring import load_checked

    write_wav(tmp_path / "rec.wav", 0.2 * np.sin(np.arange(32000) * 0.05), 16000)
    data = tmp_path / "data"
    write_table(data / "wav.scp", {"rec": str(tmp_path / "rec.wav")})
    write_table(data / "segments", {"r_a": "rec 0 0.5", "r_b": "rec 0.5 1.5"})
    write_table(data / "utt2spk", {"r_a": "r", "r_b": "r"})
    items = build_items(str(data), gen_dir=str(tmp_path / "gen"))
    assert items[1].ref == (str(tmp_path / "rec.wav"), 0.5, 1.5)
    assert items[1].gen == str(tmp_path / "gen" / "r_b.wav")
    assert len(load_checked(items[1].ref, 8000)) == 8000


def test_clone_pairs_use_another_text_of_the_same_speaker(tmp_path):
    data_dir = make_ears_dir(tmp_path)
    write_table(data_dir / "text", {u: ("same words" if u.startswith("p102_emo") else f"text {u}") for u in EARS_UTTS})
    data = DataDir.load(data_dir)
    pairs = clone_pairs(data)
    for target, prompt in pairs.items():
        assert data.utt2spk[target] == data.utt2spk[prompt] and data.text[target] != data.text[prompt]
    # p102's emotion items share one text, so they are prompted by p102's reading-style items instead.
    assert all(not pairs[u].startswith("p102_emo") for u in pairs if u.startswith("p102_emo"))
    out = tmp_path / "clone"
    assert run_main(make_eval_list.main, ["clone", "--data_dir", str(data_dir), "--out_dir", str(out)]) == 0
    entries = read_meta_lst(out / "meta.lst")
    assert {e.utt for e in entries} == set(pairs) and (out / "enroll.scp").is_file()
