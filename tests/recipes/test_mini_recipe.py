"""The mini recipe's working stages run end to end on the synthetic corpus, resume, and reject bad options."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import soundfile as sf

from tts_codec.config import load_config
from tts_codec.testing.recipes import run_recipe
from tts_codec.data.token_file import load_tokens
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table, write_table
from tts_codec.lm.text_tokenizer import load_tokenizer

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
    write_table(mini_recipe / "exp" / "lm_spark_lm_tiny" / "decode_test" / "wav" / "wav.scp",
                {utt: path for utt, path in wavs.items() if utt != missing})
    proc = run_recipe(mini_recipe, *stage_11)
    assert proc.returncode == 0 and "already done" not in proc.stderr
    report = mini_recipe / "exp" / "eval" / "test"
    results = (report / "RESULTS.md").read_text()
    assert "| wer | ↓ |" in results and "ground_truth" in results and "lm_spark_lm_tiny" in results
    assert (report / "html" / "index.html").is_file()
    truth = json.loads((report / "ground_truth" / "summary.json").read_text())
    assert truth["n_utts"] == len(wavs) and truth["metrics"]["wer"]["n_failed"] == 0
    # EER over the clone list's trials (2 held-out speakers): target and non-target trials, one per test utterance
    assert truth["metrics"]["eer"]["n"] == 2 * len(wavs) and 0.0 <= truth["metrics"]["eer"]["mean"] <= 0.5
    assert "| eer |" in results
    tts = json.loads((report / "lm_spark_lm_tiny" / "summary.json").read_text())
    # the missing output is a failure that counts with the worst score (WER 1), so n still covers every utterance
    assert tts["metrics"]["wer"]["n"] == len(wavs) and tts["metrics"]["wer"]["n_failed"] == 1
    failures = (report / "lm_spark_lm_tiny" / "failures.tsv").read_text()
    assert failures.startswith(missing) and "no output of codec_bicodec_tiny" in proc.stderr


def test_stages_3_to_11_end_to_end(mini_recipe: Path) -> None:
    """Features and labels, a short codec training, tokenization, resynthesis with codec scores, the text tokenizer,
    a short LM training, TTS decoding of both tasks, the stage-11 report of every system, then packing (stage 12)."""
    assert run_recipe(mini_recipe, "--stop_stage", "2", *SMALL).returncode == 0
    proc = run_recipe(mini_recipe, "--stage", "3", "--stop_stage", "12", "--codec_max_steps", "12",
                      # 40 LM steps (~1 min here): after 4 the LM still draws semantic codes beyond the 1024-code
                      # mini codec's codebook and every utterance is refused
                      "--lm_args", "--max_steps 40", "--tts_decode_args", "--max_new_tokens 100",
                      "--tts_metrics", "wer,sim_o,pitch,speed", "--codec_metrics", "pesq,stoi,mel")
    assert proc.returncode == 0
    for dset in ("train", "dev", "test"):  # stage 3 labelled every set with the Spark attributes
        raw = DataDir.load(mini_recipe / "dump" / "raw" / dset)
        for name in ("utt2pitch", "utt2speed", "utt2pitch_value", "utt2speed_value", "utt2gender"):
            assert sorted(raw.extra[name]) == raw.utt_ids, (dset, name)
    exp = mini_recipe / "exp" / "codec_bicodec_tiny"
    assert (exp / "model").is_dir() and (exp / "checkpoints" / "last.ckpt").is_file()
    assert list((exp / "tensorboard").rglob("events.out.tfevents.*"))
    cores = len(os.sched_getaffinity(0))  # what nproc counts: training uses every core by default
    for log in (exp / "train.log", mini_recipe / "exp" / "lm_spark_lm_tiny" / "train.log"):
        assert f"torch CPU threads per process: {cores} " in log.read_text()
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
    # The stage-7 report sets the short run beside the recipe's measured 30-minute runs (conf/reference_runs/).
    section = (exp / "decode_test" / "RESULTS.md").read_text().split("## Against reference runs", 1)[1]
    assert "bicodec_tiny_30min, 3000 batches (gap)" in section and "| stoi | ↑ |" in section
    # Stage 11 now compares the ground truth with the codec resynthesis.
    results = (mini_recipe / "exp" / "eval" / "test" / "RESULTS.md").read_text()
    assert "ground_truth" in results and "codec_bicodec_tiny" in results
    # Generated audio is measured as stage 3 labels: the ground truth reproduces its own labels exactly.
    truth = json.loads((mini_recipe / "exp" / "eval" / "test" / "ground_truth" / "summary.json").read_text())
    assert truth["metrics"]["pitch_acc"]["mean"] == 1.0 and truth["metrics"]["speed_acc"]["mean"] == 1.0
    assert (mini_recipe / "exp" / "eval" / "test" / "codec_bicodec_tiny" / "confusion_pitch.json").is_file()
    _check_lm_stages(mini_recipe, test_utts, proc.stderr)
    _check_packing(mini_recipe)


def _check_packing(recipe: Path) -> None:
    """Stage 12: the packed dir loads, and its card holds the recipe's command and the stage-11 results."""
    from tts_codec.tts.model_dir import load_model_dir

    packed = recipe / "exp" / "packed" / "spark_lm_tiny"
    card = (packed / "model_card.md").read_text()
    assert "run.sh" in card and "--stop_stage 12" in card and "| wer |" in card and "utterances in dump" in card
    assert load_model_dir(packed).sample_rate == 16000


def _check_lm_stages(recipe: Path, test_utts: list[str], log: str) -> None:
    """Stages 4, 8, 10 and their stage-11 scores, after a run of stages 3-11."""
    tokenizer = load_tokenizer(recipe / "data" / "token_list" / "spark_bpe400")  # stage 4: BPE + Spark tokens
    for token in ("<|bicodec_semantic_0|>", "<|bicodec_global_4095|>", "<|task_tts|>", "<|pitch_label_4|>"):
        assert tokenizer.convert_tokens_to_ids(token) != tokenizer.unk_token_id, token
    lm = recipe / "exp" / "lm_spark_lm_tiny"  # stage 8: the LM exported in the official LLM/ layout
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in (lm / "model").iterdir()}
    assert (lm / "checkpoints" / "last.ckpt").is_file() and list((lm / "tensorboard").rglob("events.out.tfevents.*"))
    # Stage 10: clone speaks every test utterance. Voice creation must first generate the 32 global tokens itself,
    # which a 40-step LM cannot: each utterance is either spoken or refused with its reason in `failed`.
    clone = read_table(lm / "decode_test" / "wav" / "wav.scp")
    assert sorted(clone) == test_utts and all(sf.info(path).frames > 0 for path in clone.values())
    created = read_table(lm / "decode_test_create" / "wav" / "wav.scp")
    refused = read_table(lm / "decode_test_create" / "failed")
    assert sorted([*created, *refused]) == test_utts and all("no decodable output" in why for why in refused.values())
    report = recipe / "exp" / "eval" / "test"
    results = (report / "RESULTS.md").read_text()
    header = next(line for line in results.splitlines() if line.startswith("| metric"))
    assert "| wer | ↓ |" in results and "| sim_o | ↑ |" in results and "lm_spark_lm_tiny" in header
    systems = [("lm_spark_lm_tiny", ("wer", "sim_o", "pitch_acc", "speed_acc"))]
    if created:
        assert "lm_spark_lm_tiny_create" in header
        systems.append(("lm_spark_lm_tiny_create", ("wer", "pitch_acc", "speed_acc")))
    else:
        assert "no output of lm_spark_lm_tiny_create" in log and "lm_spark_lm_tiny_create" not in header
    for system, metrics in systems:
        summary = json.loads((report / system / "summary.json").read_text())
        for metric in metrics:  # every test utterance is scored or counted as failed (poor audio fails some)
            scored = summary["metrics"][metric]
            assert scored["n"] + scored["n_failed"] >= len(test_utts), (system, metric)
        for attr in ("pitch", "speed"):  # the attribute confusion matrices (rows: the stage-3 labels)
            confusion = json.loads((report / system / f"confusion_{attr}.json").read_text())
            assert sum(map(sum, confusion["matrix"])) == summary["metrics"][f"{attr}_acc"]["n"], (system, attr)
    assert list((report / "html" / "img").glob("confusion_*pitch*.png"))


def test_unimplemented_stage_is_skipped_in_a_range_and_extra_args_reach_training(mini_recipe: Path) -> None:
    assert run_recipe(mini_recipe, "--stop_stage", "2", *SMALL).returncode == 0
    skipped = run_recipe(mini_recipe, "--stage", "9", "--stop_stage", "11", "--tts_metrics", "sim_o")
    assert skipped.returncode == 0
    assert "stage 9: not a spark stage in this version (its stages: 1 2 3 4 5 6 7 8 10 11 12); skipped" \
        in skipped.stderr
    assert "stage 10 (TTS decoding): no LM in exp/lm_spark_lm_tiny/model (stage 8); skipped" in skipped.stderr
    proc = run_recipe(mini_recipe, "--stage", "5", "--stop_stage", "5", "--codec_args", "--no_such_option 1",
                      "--train_threads", "3")
    assert proc.returncode != 0  # train_codec refused the passed-through option
    log = (mini_recipe / "exp" / "codec_bicodec_tiny" / "train.log").read_text()
    assert "unrecognized arguments: --no_such_option 1" in log
    assert "# Accounting: time=" in log and " threads=3\n" in log  # the job ran with --train_threads
    no_tokenizer = run_recipe(mini_recipe, "--stage", "8", "--stop_stage", "8")
    assert no_tokenizer.returncode == 2
    assert "stage 8 needs the tokenizer of stage 4 in data/token_list/spark_bpe400" in no_tokenizer.stderr
    assert run_recipe(mini_recipe, "--stage", "4", "--stop_stage", "4").returncode == 0
    proc = run_recipe(mini_recipe, "--stage", "8", "--stop_stage", "8", "--lm_args", "--no_such_option 2")
    assert proc.returncode != 0  # train_lm refused the passed-through option
    log = (mini_recipe / "exp" / "lm_spark_lm_tiny" / "train.log").read_text()
    assert "unrecognized arguments: --no_such_option 2" in log


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
