"""The mini recipe's MARS6 family (`./run.sh --model_family mars6`: SNAC 24 kHz + MARS6) runs stages 1-12 end to end
on the small synthetic corpus with a handful of training steps, beside the spark family's files."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts_codec.data.ark import load_scp_dict
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table
from tts_codec.data.token_file import load_tokens
from tts_codec.lm.mars6.model_dir import load_model_dir
from tts_codec.lm.mars6.text import Mars6Text
from tts_codec.testing.recipes import run_recipe
from tts_codec.tts.mars6_preference import load_pairs

SMALL = ("--local_data_opts", "--num_speakers 8 --utts_per_speaker 4")
# A few steps of each training, 2 candidates per preference prompt, one decoding attempt per chunk, cheap metrics.
FAST = ("--codec_max_steps", "4", "--lm_args", "--max_steps 6",
        "--pref_args", "--num_candidates 2 --max_steps 2 --batch_size 2",
        "--tts_decode_args", "--max_attempts 1", "--codec_metrics", "stoi,mel", "--tts_metrics", "wer,sim_o")


# Eleven stages with three short trainings and four Whisper-scored systems; pytest.ini's 900 s is too short on a
# busy machine (its first run, niced behind other training, took over 17 minutes to reach stage 6).
@pytest.mark.timeout(2400)
def test_mars6_stages_1_to_12_end_to_end(mini_recipe: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = run_recipe(mini_recipe, "--model_family", "mars6", *SMALL, *FAST, timeout=2300)
    assert proc.returncode == 0
    monkeypatch.chdir(mini_recipe)  # the scps name their arks relative to the recipe dir, as in Kaldi
    dump = mini_recipe / "dump" / "mars6"  # beside the spark family's dump/raw (16 kHz), never over it
    assert not (mini_recipe / "dump" / "raw").exists()
    sets = {d: DataDir.load(dump / "raw" / d) for d in ("train", "dev", "test")}
    first = sets["test"].utt_ids[0]
    assert sf.info(sets["test"].wav_scp[first]).samplerate == 24000
    _check_xvectors_and_tokenizer(mini_recipe, dump, sets)
    _check_codec(mini_recipe, dump, sets["test"].utt_ids)
    _check_lm_and_preference(mini_recipe)
    _check_decoding_and_scores(mini_recipe, sets["test"].utt_ids)
    _check_packed(mini_recipe)

    again = run_recipe(mini_recipe, "--model_family", "mars6", *SMALL, *FAST)
    assert again.returncode == 0
    for n in range(1, 13):  # a rerun finds every stage done
        assert re.search(rf"stage {n} \([^\n]*\): already done", again.stderr), n


def _check_xvectors_and_tokenizer(recipe: Path, dump: Path, sets: dict[str, DataDir]) -> None:
    for dset in ("train", "dev"):  # stage 3: one unit x-vector per utterance (resemblyzer, 256-d, mars6_mini.yaml)
        xvectors = load_scp_dict(dump / "xvector" / dset / "xvector.scp")
        assert sorted(xvectors) == sets[dset].utt_ids
        vector = np.asarray(xvectors[sets[dset].utt_ids[0]])
        assert vector.shape == (256,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
    assert sorted(sets["test"].extra["utt2pitch"]) == sets["test"].utt_ids  # stage 3 labels, for stage 11
    text = Mars6Text.load(recipe / "data" / "token_list" / "mars6_bpe512")  # stage 4: the MARS6 BPE, 512 ids
    assert len(text) == 512 and len(text.encode("the quick brown fox")) > 3


def _check_codec(recipe: Path, dump: Path, test_utts: list[str]) -> None:
    exp = recipe / "exp" / "codec_snac_mini"  # stage 5
    assert (exp / "model").is_dir() and (exp / "checkpoints" / "last.ckpt").is_file()
    codes = load_tokens(dump / "codes" / "snac_mini" / "test")  # stage 6: three levels at 12/23/47 Hz
    assert sorted(codes) == test_utts
    lengths = sorted(np.asarray(a).size for a in codes[test_utts[0]].values())
    assert len(lengths) == 3 and lengths[0] > 0 and lengths[1:] == [2 * lengths[0], 4 * lengths[0]]
    assert sorted(read_table(exp / "decode_test" / "wav" / "wav.scp")) == test_utts  # stage 7
    summary = json.loads((exp / "decode_test" / "scores" / "summary.json").read_text())
    assert {"stoi", "mel"} <= set(summary["metrics"])
    section = (exp / "decode_test" / "RESULTS.md").read_text().split("## Against reference runs", 1)[1]
    assert "snac_mini, 1100 batches (gap)" in section and "| stoi | ↑ |" in section  # the family's reference runs


def _check_lm_and_preference(recipe: Path) -> None:
    lm = recipe / "exp" / "lm_mars6_mini"  # stage 8: the model dir inference loads
    assert (lm / "checkpoints" / "last.ckpt").is_file() and list((lm / "tensorboard").rglob("events.out.tfevents.*"))
    model, _, config = load_model_dir(lm / "model")
    assert config["task"] == "mars6" and model.cfg.speaker_dim == 256
    pref = recipe / "exp" / "lm_mars6_mini_pref"  # stage 9: scored pairs, then the ORPO model
    pairs = load_pairs(pref / "pairs.pt")
    prompts = (recipe / "dump" / "mars6" / "eval" / "train_pref" / "list" / "meta.lst").read_text().splitlines()
    assert 1 <= len(pairs) <= len(prompts) and len(prompts) == 2 * len(DataDir.load(
        recipe / "dump" / "mars6" / "raw" / "train").speakers)
    _, _, pref_config = load_model_dir(pref / "model")
    assert pref_config["task"] == "mars6_orpo"


def _check_decoding_and_scores(recipe: Path, test_utts: list[str]) -> None:
    for system in ("lm_mars6_mini", "lm_mars6_mini_pref"):  # stage 10: both models speak every test utterance
        wavs = read_table(recipe / "exp" / system / "decode_test" / "wav" / "wav.scp")
        assert sorted(wavs) == test_utts
        info = sf.info(wavs[test_utts[0]])
        assert info.samplerate == 24000 and info.frames > 0
        assert sorted(read_table(recipe / "exp" / system / "decode_test" / "timing")) == test_utts
    report = recipe / "exp" / "eval_mars6" / "test"  # stage 11: every system side by side
    header = next(line for line in (report / "RESULTS.md").read_text().splitlines() if line.startswith("| metric"))
    for system in ("ground_truth", "codec_snac_mini", "lm_mars6_mini", "lm_mars6_mini_pref"):
        assert system in header, system
        summary = json.loads((report / system / "summary.json").read_text())
        scored = summary["metrics"]["wer"]
        assert scored["n"] + scored["n_failed"] >= len(test_utts), system


def _check_packed(recipe: Path) -> None:
    """Stage 12: the ORPO model packed with the SNAC codec into a dir the family loader opens."""
    from tts_codec.tts.model_dir import model_family

    packed = recipe / "exp" / "packed" / "mars6_mini"
    manifest = json.loads((packed / "model_dir.json").read_text())
    assert manifest["family"] == "mars6" and model_family(packed) == "mars6"
    assert (packed / "model_card.md").is_file()
