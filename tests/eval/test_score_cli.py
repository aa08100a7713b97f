"""score / merge_scores CLIs end to end: on-disk format, per-utterance failures, merge of parts = whole run."""
import json

import numpy as np
import pytest

from tts_codec.bin import merge_scores, score
from tts_codec.cli import run_main
from tts_codec.data.audio import write_wav
from tts_codec.data.table import write_table

SR = 16000
TEXTS = ["The juice of lemons makes fine punch.", "Rice is often served in round bowls.",
         "Four hours of steady work faced us.", "Glue the sheet to the dark blue background."]
METRICS = "pesq,stoi,mel,rtf"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, espeak_engine):
    """ref data dir of 7 utterances and a generated scp: 4 lightly noised copies, one silent, one whose file
    is missing on disk, one absent from the scp."""
    from tts_codec.data.synth.espeak import Prosody, synthesize

    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    utts = [f"spk{k % 2}_u{k}" for k in range(7)]
    wav_scp, text, gen, timing = {}, {}, {}, {}
    for k, utt in enumerate(utts):
        wav = synthesize(TEXTS[k % 4], Prosody("en-us+m3" if k % 2 else "en-us+f2"), SR, espeak_engine)
        write_wav(root / "ref" / f"{utt}.wav", wav, SR)
        wav_scp[utt], text[utt] = str(root / "ref" / f"{utt}.wav"), TEXTS[k % 4]
        if k == 4:
            wav = np.zeros_like(wav)
        elif k < 4:
            wav = np.clip(wav + 0.003 * (k + 1) * rng.standard_normal(len(wav)), -1, 1)
        if k != 5:
            write_wav(root / "gen" / f"{utt}.wav", wav, SR)
        if k != 6:
            gen[utt] = str(root / "gen" / f"{utt}.wav")
        timing[utt] = 0.1 * (k + 1)
    ref = root / "data"
    write_table(ref / "wav.scp", wav_scp)
    write_table(ref / "text", text)
    write_table(ref / "utt2spk", {u: u.split("_")[0] for u in utts})
    write_table(root / "gen.scp", gen)
    write_table(root / "timing", timing)
    return {"root": root, "ref": ref, "gen": root / "gen.scp", "timing": root / "timing", "utts": sorted(utts)}


def run_score(corpus, out, *extra):
    argv = ["--metrics", METRICS, "--ref_dir", str(corpus["ref"]), "--gen_scp", str(corpus["gen"]),
            "--timing_file", str(corpus["timing"]), "--out_dir", str(out), "--protocol", "codec", *extra]
    return run_main(score.main, argv)


@pytest.fixture(scope="module")
def whole(corpus):
    out = corpus["root"] / "whole"
    assert run_score(corpus, out) == 0
    return out


def test_per_utt_format_and_failures(corpus, whole):
    lines = (whole / "per_utt.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert header == ["utt", "pesq_wb", "pesq_nb", "stoi", "estoi", "mel", "duration_s", "rtf"]
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[1:]}
    assert list(rows) == corpus["utts"]  # every utterance, C-sorted
    good = rows["spk0_u0"]
    assert float(good[0]) > 2.0 and float(good[2]) > 0.9 and float(good[4]) > 0
    for bad in ("spk0_u4", "spk1_u5", "spk0_u6"):
        assert rows[bad] == [""] * 7
    failures = [line.split("\t") for line in (whole / "failures.tsv").read_text().splitlines()]
    assert all(len(f) == 3 for f in failures)
    reasons = {(u, m): r for u, m, r in failures}
    assert reasons["spk0_u4", "pesq_wb"].startswith("silent or empty wav")
    assert reasons["spk1_u5", "stoi"].startswith("missing wav")
    assert reasons["spk0_u6", "mel"] == "no gen wav for this utterance"
    assert failures == sorted(failures)


def test_summary_json(whole):
    summary = json.loads((whole / "summary.json").read_text())
    pesq = summary["metrics"]["pesq_wb"]
    assert pesq["n"] == 4 and pesq["n_failed"] == 3 and pesq["higher_is_better"] is True
    assert pesq["ci95"][0] <= pesq["mean"] <= pesq["ci95"][1]
    assert summary["metrics"]["mel"]["higher_is_better"] is False
    assert summary["metrics"]["duration_s"]["higher_is_better"] is None
    dur = summary["metrics"]["duration_s"]["stats"]
    assert dur["total"] == pytest.approx(dur["mean"] * 4)
    # rtf of utt k is 0.1 (k+1) / duration: corpus = total time / total audio
    assert summary["metrics"]["rtf"]["corpus"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.4) / dur["total"], rel=1e-6)
    assert summary["n_utts"] == 7 and summary["n_utts_with_failures"] == 3
    assert summary["protocol"] == "codec" and summary["ref_dir"].endswith("data")
    assert summary["models"]["pesq_wb"].startswith("pesq ") and "pystoi" in summary["models"]["stoi"]


def test_merge_of_parts_equals_whole(corpus, whole):
    parts = [corpus["root"] / f"part{k}" for k in (1, 2)]
    for k, part in enumerate(parts, start=1):
        assert run_score(corpus, part, "--nj", "2", "--nj_part", str(k)) == 0
    rows1 = (parts[0] / "per_utt.tsv").read_text().splitlines()[1:]
    assert 0 < len(rows1) < 7
    merged = corpus["root"] / "merged"
    assert run_main(merge_scores.main, ["--out_dir", str(merged), *map(str, parts)]) == 0
    for name in ("per_utt.tsv", "failures.tsv"):
        assert (merged / name).read_text() == (whole / name).read_text()
    a, b = (json.loads((d / "summary.json").read_text()) for d in (merged, whole))
    assert a["metrics"] == b["metrics"] and a["models"] == b["models"]


def test_merge_refuses_overlapping_parts(corpus, whole, capsys):
    out = corpus["root"] / "bad_merge"
    assert run_main(merge_scores.main, ["--out_dir", str(out), str(whole), str(corpus["root"] / "part1")]) == 2
    assert "is in more than one part" in capsys.readouterr().err


def test_refuses_to_clobber_and_bad_metric(corpus, whole, capsys):
    assert run_score(corpus, whole) == 2
    assert "already exists" in capsys.readouterr().err
    assert run_main(score.main, ["--metrics", "pesq,nope", "--gen_scp", str(corpus["gen"]),
                                 "--out_dir", str(corpus["root"] / "x")]) == 2
    assert "unknown or empty ['nope']" in capsys.readouterr().err


def test_wer_sim_and_eer_through_the_cli(corpus, tmp_path):
    """A tiny run of the model-based metrics: hyp/ref side files, SIM, and an EER over a trial list."""
    utts = ["spk0_u0", "spk1_u1"]
    trials = tmp_path / "trials"
    trials.write_text("spk0_u2 spk0_u0 target\nspk1_u3 spk0_u0 nontarget\nspk1_u3 spk1_u1 target\n"
                      "spk0_u2 spk1_u1 nontarget\n")
    write_table(tmp_path / "gen.scp", {u: str(corpus["root"] / "gen" / f"{u}.wav") for u in utts})
    from tts_codec.data.datadir import DataDir

    DataDir.load(corpus["ref"]).subset(utts).save(tmp_path / "ref")
    out = tmp_path / "out"
    argv = ["--metrics", "wer,sim", "--ref_dir", str(tmp_path / "ref"), "--gen_scp", str(tmp_path / "gen.scp"),
            "--trials", str(trials), "--enroll_scp", str(corpus["ref"] / "wav.scp"), "--out_dir", str(out)]
    assert run_main(score.main, argv) == 0
    hyps = (out / "hyp.txt").read_text().splitlines()
    assert [h.split()[0] for h in hyps] == utts
    assert (out / "ref.txt").read_text().splitlines()[0] == "spk0_u0 " + TEXTS[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["wer"]["mean"] < 0.6 and "corpus" in summary["metrics"]["wer"]
    assert "beam 5," in summary["models"]["wer"]  # evaluation.md: beam 5 for reported numbers
    assert summary["metrics"]["sim"]["mean"] > 0.9
    assert summary["metrics"]["eer"]["n"] == 4 and summary["metrics"]["eer"]["mean"] == 0.0
    assert len((out / "trials_scored.txt").read_text().splitlines()) == 4


@pytest.mark.parametrize("argv, beam", [([], 5), (["--protocol", "seed"], 1),
                                        (["--protocol", "seed", "--asr_beam", "5"], 5),
                                        (["--asr_beam", "1"], 1), (["--asr_beam_size", "3"], 3)])
def test_asr_beam_option(argv, beam, tmp_path):
    """Default beam: 5 for reported numbers, 1 (the official greedy decoding) under the seed rules."""
    args = score.get_parser().parse_args(["--out_dir", "x", "--gen_dir", str(tmp_path), *argv])
    score.check_args(args)
    assert args.asr_beam_size == beam


def test_asr_beam_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exc:
        score.get_parser().parse_args(["--out_dir", "x", "--asr_beam", "0"])
    assert exc.value.code == 2 and "--asr_beam" in capsys.readouterr().err


def test_seed_tts_meta_list_with_gen_dir(corpus, tmp_path):
    """Seed-TTS-eval layout: meta.lst gives prompt and ground truth, audio is <gen_dir>/<utt>.wav."""
    root = corpus["root"]
    lst = tmp_path / "meta.lst"
    lst.write_text(f"spk0_u0|p|{root}/ref/spk0_u2.wav|{TEXTS[0]}|{root}/ref/spk0_u0.wav\n"
                   f"spk1_u5|p|{root}/ref/spk1_u3.wav|{TEXTS[1]}|{root}/ref/spk1_u5.wav\n")
    out = tmp_path / "out"
    argv = ["--metrics", "sim_o,mel", "--meta_lst", str(lst), "--gen_dir", str(root / "gen"), "--out_dir", str(out)]
    assert run_main(score.main, argv) == 0
    rows = [line.split("\t") for line in (out / "per_utt.tsv").read_text().splitlines()]
    assert rows[0] == ["utt", "sim_o", "mel"]
    assert rows[1][0] == "spk0_u0" and 0.5 < float(rows[1][1]) < 1.0 and float(rows[1][2]) > 0
    assert rows[2] == ["spk1_u5", "0", ""]  # no generated file: the worst SIM under toolkit rules, mel left out
    failures = (out / "failures.tsv").read_text().splitlines()
    assert len(failures) == 2 and all(f.startswith("spk1_u5\t") and "missing wav" in f for f in failures)
    assert "(counted as 0)" in failures[1] and failures[1].split("\t")[1] == "sim_o"
