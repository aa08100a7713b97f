"""The on-disk score format from constructed results (no audio): NA columns, side files, confusion, merge."""
import json

import pytest

from tts_codec.eval.eer import Trial
from tts_codec.eval.score_dir import write_results
from tts_codec.eval.score_merge import merge_parts
from tts_codec.eval.scoring import UttResult

COLUMNS = {"wer": False, "f0_hz": None, "pitch_acc": True}
META = {"models": {"wer": "asr x"}, "protocol": "test", "ref_dir": "data/t", "gen_scp": "gen.scp"}


def results(utts, labelled):
    out = {}
    for k, utt in enumerate(utts):
        r = UttResult(values={"wer": 0.25 * k, "f0_hz": 100.0 + k},
                      extras={"hyp.txt": "a b x", "ref.txt": "a b c d", "labels_pitch.txt": "- low"})
        if labelled:
            r.values["pitch_acc"] = float(k % 2 == 0)
            r.extras["labels_pitch.txt"] = "low low" if k % 2 == 0 else "high low"
        out[utt] = r
    return out


def test_na_columns_side_files_and_confusion(tmp_path):
    res = results(["u2", "u1"], labelled=False)
    res["u3"] = UttResult(failures={"wer": "no reference text", "f0_hz": "silent", "pitch_acc": "silent"})
    summary = write_results(tmp_path, res, COLUMNS, META)
    lines = (tmp_path / "per_utt.tsv").read_text().splitlines()
    assert lines == ["utt\twer\tf0_hz\tpitch_acc", "u1\t0.25\t101\t", "u2\t0\t100\t", "u3\t\t\t"]
    assert (tmp_path / "failures.tsv").read_text().splitlines() == [
        "u3\tf0_hz\tsilent", "u3\tpitch_acc\tsilent", "u3\twer\tno reference text"]
    assert summary["metrics"]["wer"]["corpus"] == 0.5  # 2 of 4 words wrong in each utterance
    assert summary["metrics"]["wer"]["n_failed"] == 1
    assert not (tmp_path / "confusion_pitch.json").exists()  # no intended labels


def test_merge_with_a_column_missing_in_one_part(tmp_path):
    write_results(tmp_path / "p1", results(["a1", "a2"], labelled=False), COLUMNS, META)
    write_results(tmp_path / "p2", results(["b1", "b2"], labelled=True), COLUMNS, META,
                  trials=[(Trial("e", "b1", True), 0.9, ""), (Trial("f", "b1", False), 0.2, ""),
                          (Trial("g", "b2", False), None, "silent")])
    assert (tmp_path / "p1" / "per_utt.tsv").read_text().splitlines()[0] == "utt\twer\tf0_hz"
    summary = merge_parts([tmp_path / "p1", tmp_path / "p2"], tmp_path / "all")
    lines = (tmp_path / "all" / "per_utt.tsv").read_text().splitlines()
    assert lines[0] == "utt\twer\tf0_hz\tpitch_acc" and lines[1] == "a1\t0\t100\t" and lines[4] == "b2\t0.25\t101\t0"
    conf = json.loads((tmp_path / "all" / "confusion_pitch.json").read_text())
    assert conf["matrix"][1] == [0, 1, 0, 0, 0] and conf["matrix"][3] == [0, 1, 0, 0, 0] and conf["accuracy"] == 0.5
    assert summary["metrics"]["eer"] == {"mean": 0.0, "ci95": None, "n": 2, "n_failed": 1,
                                         "higher_is_better": False, "threshold": pytest.approx(0.9)}
    assert "b2\teer\ttrial g b2: silent" in (tmp_path / "all" / "failures.tsv").read_text()
    assert summary["merged_from"] == [str(tmp_path / "p1"), str(tmp_path / "p2")]
