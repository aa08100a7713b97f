"""`make demo`'s path (egs/mini/tts1/local/demo.sh) on two test sentences with the shipped mini models of both
families: Spark speaks both modes and MARS6 clones, the evaluation suite scores them side by side beside the eSpeak
ground truth in one report, a rerun resumes, and a bad option is one clear line before anything runs."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from tts_codec.data.table import read_table
from tts_codec.testing.recipes import recipe_env

SMALL = ("--local_data_opts", "--num_speakers 8 --utts_per_speaker 4")  # 2 held-out speakers x 4 test sentences


def run_demo(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(["./local/demo.sh", *args], cwd=recipe, env=recipe_env(), capture_output=True, text=True,
                          timeout=600)
    print(proc.stdout[-3000:], proc.stderr[-8000:], sep="\n")
    return proc


def _summary(demo: Path, system: str) -> dict:
    return json.loads((demo / "eval" / system / "summary.json").read_text())


def test_the_shipped_models_speak_both_modes_into_a_scored_report(mini_recipe: Path) -> None:
    proc = run_demo(mini_recipe, "--num_utts", "1", *SMALL)
    assert proc.returncode == 0
    demo = mini_recipe / "exp" / "demo"
    targets = read_table(demo / "data" / "utt2spk")
    assert len(targets) == 2 and len(set(targets.values())) == 2  # one sentence of each test speaker
    for task in ("clone", "create"):
        wavs = read_table(demo / "spark_mini" / f"decode_{task}" / "wav" / "wav.scp")
        assert sorted(wavs) == sorted(targets)
        assert all(sf.info(path).duration > 0.3 for path in wavs.values())
    mars6_wavs = read_table(demo / "mars6_mini" / "decode_clone" / "wav" / "wav.scp")  # MARS6: clone only
    assert sorted(mars6_wavs) == sorted(targets) and not (demo / "mars6_mini" / "decode_create").exists()
    assert all(sf.info(path).samplerate == 24000 for path in mars6_wavs.values())
    truth, clone, create, mars6 = (_summary(demo, s) for s in ("ground_truth", "spark_mini_clone",
                                                               "spark_mini_create", "mars6_mini_clone"))
    for summary in (truth, clone, create, mars6):
        assert summary["n_utts"] == 2 and summary["metrics"]["wer"]["n"] == 2
        assert summary["metrics"]["wer"]["n_failed"] == 0 and summary["metrics"]["wer"]["mean"] >= 0
        assert summary["metrics"]["gender_acc"]["n"] == 2
    # Resemblyzer similarity to another recording of the target speaker: the eSpeak ground truth is the ceiling,
    # and the shipped models clone the voice (measured 0.77 on its guard utterances)
    assert truth["metrics"]["sim_o"]["mean"] > 0.7 and clone["metrics"]["sim_o"]["mean"] > 0.6
    assert "sim_o" not in create["metrics"]  # voice creation has no prompt
    results = (demo / "RESULTS.md").read_text()
    assert "| wer | ↓ |" in results and "| sim_o | ↑ |" in results
    assert all(name in results for name in ("ground_truth", "spark_mini_clone", "spark_mini_create",
                                            "mars6_mini_clone"))
    assert (demo / "html" / "index.html").is_file()
    assert "resume:" in proc.stderr and "| wer | ↓ |" in proc.stderr  # stage logs, and the scores printed at the end

    again = run_demo(mini_recipe, "--num_utts", "1", *SMALL)
    skipped = [line for line in again.stderr.splitlines() if "(demo.sh:" in line and "already done" in line]
    assert again.returncode == 0 and len(skipped) == 4  # stages 2-5 (stage 1 is run.sh's, skipped by it)

    # another seed reruns stage 3: the earlier decodings are replaced (the decoders refuse to mix settings)
    reseeded = run_demo(mini_recipe, "--num_utts", "1", *SMALL, "--seed", "1", "--stop_stage", "3")
    assert reseeded.returncode == 0 and "stage 3: speech" in reseeded.stderr
    spark_info = json.loads((demo / "spark_mini" / "decode_clone" / "decode_info.json").read_text())
    mars6_info = json.loads((demo / "mars6_mini" / "decode_clone" / "decode_info.json").read_text())
    assert '"seed": 1' in json.dumps(spark_info) and mars6_info["options"]["seed"] == 1
    assert mars6_info["options"]["deep_clone_mode"] == "none"  # shallow, as the recipe's stage 10


@pytest.mark.parametrize("args, message", [
    (("--num_utts", "0"), "--num_utts must be a whole number >= 1, not '0'"),
    (("--model_dirs", "nowhere"), "--model_dirs: nowhere/model_dir.json not found"),
    (("--stage", "6"), "--stage 6 --stop_stage 5 selects none of the stages 1..5"),
    (("--num_uts", "2"), "unknown option '--num_uts'"),
    (("--deep_clone_mode", "deep"), "--deep_clone_mode must be none, fixed-ref or per-chunk, not 'deep'"),
])
def test_a_bad_option_is_one_line_before_anything_runs(mini_recipe: Path, args, message) -> None:
    proc = run_demo(mini_recipe, *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (mini_recipe / "exp").exists() and not (mini_recipe / "data").exists()
