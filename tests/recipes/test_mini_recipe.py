"""The mini recipe's working stages run end to end on the synthetic corpus, resume, and reject bad options."""
from __future__ import annotations

import json
import math
from pathlib import Path

import soundfile as sf

from tts_codec.config import load_config
from tts_codec.testing.recipes import run_recipe
from tts_codec.data.token_file import load_tokens
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table, write_table

SMALL = ("--local_data_opts", "--num_speakers 8 --utts_per_speaker 4")


def test_stages_1_2_make_valid_data_and_dump_dirs(mini_recipe: Path) -> None:
    proc = run_recipe(mini_recipe, "--stop_stage", "2", *SMALL)
    assert proc.returncode == 0
    sets = {}
    for dset in ("train", "dev", "test"):
        sets[dset] = DataDir.load(mini_recipe / "data" / dset)
        dump = DataDir.load(mini_recipe / "dump" / "raw" / dset)
        assert dump.utt_ids and set(dump.utt_ids) <= set(sets[dset].utt_ids)
        first = dump.utt_ids[0]
        info = sf.info(dump.wav_scp[first])
        assert info.samplerate == 16000 and info.frames == int(dump.extra["utt2num_samples"][first])
    test_only = set(sets["test"].speakers) - set(sets["train"].speakers)
    assert len(test_only) >= 2, "the test set must hold out speakers"
    # Every stage says how to resume from it, and records it.
    assert "resume from this stage with:" in proc.stderr and "--stage 2" in proc.stderr
    assert "--stage 2" in (mini_recipe / "exp" / "resume.sh").read_text()

    again = run_recipe(mini_recipe, "--stop_stage", "2", *SMALL)
    assert again.returncode == 0 and "already done" in again.stderr


def test_unknown_option_is_one_clear_error(mini_recipe: Path) -> None:
    proc = run_recipe(mini_recipe, "--stop_stag", "2")
    assert proc.returncode == 2
    assert "unknown option '--stop_stag'" in proc.stderr


def test_bad_model_family_is_refused(mini_recipe: Path) -> None:
    proc = run_recipe(mini_recipe, "--model_family", "tacotron")
    assert proc.returncode == 2 and "--model_family must be spark or mars6" in proc.stderr


def test_stage_11_scores_available_systems_and_writes_reports(mini_recipe: Path) -> None:
    assert run_recipe(mini_recipe, "--stop_stage", "2", *SMALL).returncode == 0
    stage_11 = ("--stage", "11", "--stop_stage", "11", "--tts_metrics", "wer,sim_o")
    first = run_recipe(mini_recipe, *stage_11)
    assert first.returncode == 0 and "no output of lm_spark" in first.stderr
    assert "already done" in run_recipe(mini_recipe, *stage_11).stderr
    # A stand-in TTS output (stage 10 belongs to the LM work): the test wavs with the first utterance missing.
    # New output makes stage 11 run again.
    test_dir = mini_recipe / "dump" / "raw" / "test"
    wavs = read_table(test_dir / "wav.scp")
    missing = sorted(wavs)[0]
    write_table(mini_recipe / "exp" / "lm_spark" / "decode_test" / "wav" / "wav.scp",
                {utt: path for utt, path in wavs.items() if utt != missing})
    proc = run_recipe(mini_recipe, *stage_11)
    assert proc.returncode == 0 and "already done" not in proc.stderr
    report = mini_recipe / "exp" / "eval" / "test"
    results = (report / "RESULTS.md").read_text()
    assert "| wer | ↓ |" in results and "ground_truth" in results and "lm_spark" in results
    assert (report / "html" / "index.html").is_file()
    truth = json.loads((report / "ground_truth" / "summary.json").read_text())
    assert truth["n_utts"] == len(wavs) and truth["metrics"]["wer"]["n_failed"] == 0
    # EER over the clone list's trials (2 held-out speakers): target and non-target trials, one per test utterance
    assert truth["metrics"]["eer"]["n"] == 2 * len(wavs) and 0.0 <= truth["metrics"]["eer"]["mean"] <= 0.5
    assert "| eer |" in results
    tts = json.loads((report / "lm_spark" / "summary.json").read_text())
    assert tts["metrics"]["wer"]["n"] == len(wavs) - 1 and tts["metrics"]["wer"]["n_failed"] == 1
    failures = (report / "lm_spark" / "failures.tsv").read_text()
    assert failures.startswith(missing) and "no output of codec_bicodec_tiny" in proc.stderr


def test_codec_stages_3_to_7_and_11_end_to_end(mini_recipe: Path) -> None:
    """Features, a short codec training, tokenization, resynthesis with codec scores, then the TTS report."""
    assert run_recipe(mini_recipe, "--stop_stage", "2", *SMALL).returncode == 0
    proc = run_recipe(mini_recipe, "--stage", "3", "--stop_stage", "11", "--codec_max_steps", "12",
                      "--tts_metrics", "wer,sim_o,pitch,speed", "--codec_metrics", "pesq,stoi,mel")
    assert proc.returncode == 0
    for dset in ("train", "dev", "test"):  # stage 3 labelled every set with the Spark attributes
        raw = DataDir.load(mini_recipe / "dump" / "raw" / dset)
        for name in ("utt2pitch", "utt2speed", "utt2pitch_value", "utt2speed_value", "utt2gender"):
            assert sorted(raw.extra[name]) == raw.utt_ids, (dset, name)
    exp = mini_recipe / "exp" / "codec_bicodec_tiny"
    assert (exp / "model").is_dir() and (exp / "checkpoints" / "last.ckpt").is_file()
    assert list((exp / "tensorboard").rglob("events.out.tfevents.*"))
    test_utts = DataDir.load(mini_recipe / "dump" / "raw" / "test").utt_ids
    codes = load_tokens(mini_recipe / "dump" / "codes" / "bicodec_tiny" / "test")
    assert sorted(codes) == test_utts
    decoded = read_table(exp / "decode_test" / "wav" / "wav.scp")
    assert sorted(decoded) == test_utts
    summary = json.loads((exp / "decode_test" / "scores" / "summary.json").read_text())
    for metric in ("pesq_wb", "stoi", "mel", "bitrate_semantic_bps", "semantic_codes_used_share"):
        assert metric in summary["metrics"], metric
    codebook = load_config(exp / "model" / "config.yaml")["codec_conf"]["quantizer"]["codebook_size"]
    assert summary["metrics"]["bitrate_semantic_bps"]["mean"] == 50 * math.log2(codebook)  # 650 for 8192 codes
    assert (exp / "decode_test" / "RESULTS.md").is_file() and (exp / "decode_test" / "html" / "index.html").is_file()
    # Stage 11 now compares the ground truth with the codec resynthesis.
    results = (mini_recipe / "exp" / "eval" / "test" / "RESULTS.md").read_text()
    assert "ground_truth" in results and "codec_bicodec_tiny" in results
    # Generated audio is measured as stage 3 labels: the ground truth reproduces its own labels exactly.
    truth = json.loads((mini_recipe / "exp" / "eval" / "test" / "ground_truth" / "summary.json").read_text())
    assert truth["metrics"]["pitch_acc"]["mean"] == 1.0 and truth["metrics"]["speed_acc"]["mean"] == 1.0
    assert (mini_recipe / "exp" / "eval" / "test" / "codec_bicodec_tiny" / "confusion_pitch.json").is_file()


def test_unimplemented_stage_is_skipped_in_a_range_and_codec_args_reach_training(mini_recipe: Path) -> None:
    assert run_recipe(mini_recipe, "--stop_stage", "2", *SMALL).returncode == 0
    proc = run_recipe(mini_recipe, "--stage", "4", "--stop_stage", "5", "--codec_args", "--no_such_option 1")
    assert "stage 4 (text tokenizer): not implemented yet in tts_codec" in proc.stderr
    assert proc.returncode != 0  # train_codec refused the passed-through option
    log = (mini_recipe / "exp" / "codec_bicodec_tiny" / "train.log").read_text()
    assert "unrecognized arguments: --no_such_option 1" in log


def test_stage_11_says_why_there_is_no_eer_for_one_speaker(mini_recipe: Path) -> None:
    assert run_recipe(mini_recipe, "--stop_stage", "2", *SMALL).returncode == 0
    test = DataDir.load(mini_recipe / "dump" / "raw" / "test")
    speaker = sorted(test.spk2utt)[0]
    test.subset(test.spk2utt[speaker]).save(mini_recipe / "dump" / "raw" / "one_spk")
    proc = run_recipe(mini_recipe, "--stage", "11", "--stop_stage", "11", "--test_sets", "one_spk",
                      "--tts_metrics", "sim_o")
    assert proc.returncode == 0
    assert "one_spk: no EER: 1 speaker; speaker verification needs at least 2 (non-target trials)" in proc.stderr
    truth = json.loads((mini_recipe / "exp" / "eval" / "one_spk" / "ground_truth" / "summary.json").read_text())
    assert "eer" not in truth["metrics"] and truth["metrics"]["sim_o"]["n"] > 0
