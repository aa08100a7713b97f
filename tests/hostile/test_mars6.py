"""Hostile inputs for the MARS6 verbs (stage 3 extract_xvectors, stage 4 with --model_family mars6, stage 8
train_lm on a MARS6 config, stage 10 mars6_decode, benchmark_mars6): each is refused with one clear message naming
the culprit, a non-zero exit, and every file left as it was (tts_codec.testing.hostile)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, bad_numbers, check_case, data_dir, replace_audio
from tts_codec.testing.mars6 import make_mars6_corpus, make_mars6_tokenizer
from tts_codec.testing.spark_lm import make_lm_corpus, make_spark_tokenizer

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "egs" / "mini" / "tts1" / "conf" / "mars6_tiny.yaml"


def _xvec_args(ws: Path, *extra) -> list:
    return ["--data_dir", data_dir(ws), "--output_dir", ws / "xvector", *extra]


XVECTORS = [
    Case("extract_xvectors", "data_dir_missing", lambda ws: ["--data_dir", ws / "nope", "--output_dir", ws / "x"],
         "{ws}/nope"),
    Case("extract_xvectors", "wavlm_without_model_dir", lambda ws: _xvec_args(ws, "--extractor", "wavlm"),
         "needs model_dir"),
    Case("extract_xvectors", "wavlm_model_dir_missing",
         lambda ws: _xvec_args(ws, "--extractor", "wavlm", "--model_dir", ws / "nope"), "{ws}/nope"),
    Case("extract_xvectors", "unknown_extractor", lambda ws: _xvec_args(ws, "--extractor", "clap"), "--extractor"),
    Case("extract_xvectors", "unknown_option", lambda ws: _xvec_args(ws, "--frobnicate"), "--frobnicate"),
    Case("extract_xvectors", "broken_audio",
         lambda ws: (_xvec_args(ws), replace_audio(ws / "data", "truncated_header"))[0], "{ws}/data"),
]


def _mars6_tok_args(ws: Path, *extra) -> list:
    train, _, _ = make_mars6_corpus(ws, "train", 4, codebook_size=16)
    return ["--model_family", "mars6", "--text", train, "--output_dir", ws / "tok", *extra]


TOKENIZER = [
    Case("train_text_tokenizer", "mars6_with_pretrained",
         lambda ws: _mars6_tok_args(ws, "--pretrained_dir", ws), "not with --model_family mars6"),
    Case("train_text_tokenizer", "mars6_vocab_too_small", lambda ws: _mars6_tok_args(ws, "--vocab_size", "262"),
         "--vocab_size 262"),
    Case("train_text_tokenizer", "unknown_family", lambda ws: _mars6_tok_args(ws, "--model_family", "vits"),
         "--model_family"),
]


def _lm_args(ws: Path, *extra, tokenizer=None) -> list:
    train, codes, xvec = make_mars6_corpus(ws, "train", 4, codebook_size=16)
    tok = tokenizer or make_mars6_tokenizer(ws / "tok")
    return ["--config", TINY, "--train_data", train, "--codes_dir", codes, "--xvector_dir", xvec,
            "--tokenizer_dir", tok, "--output_dir", ws / "exp", *extra]


def _spark_codes(ws: Path) -> list:
    args = _lm_args(ws)
    make_lm_corpus(ws / "spark", "train", num_utts=4)
    return args + ["--codes_dir", ws / "spark" / "codes"]


def _option_config(ws: Path, section: str) -> list:
    """train_lm arguments with the tiny config plus `section`."""
    args = _lm_args(ws)
    (ws / "option.yaml").write_text(f"base: {TINY}\n{section}\n")
    return [*args[:1], ws / "option.yaml", *args[2:]]


def _guided_attention_config(ws: Path, section: str) -> list:
    """train_lm arguments with the tiny config plus guided attention at weight 1 and `section`."""
    return _option_config(ws, f"loss_weights: {{guided_attention: 1.0}}\n{section}")


def _resume_on_other_tokens(ws: Path) -> list:
    """A one-step run, then its training tokens replaced by those of other codec weights: the resume is refused."""
    import json

    from tts_codec.bin.train_lm import main as train_lm

    args = _option_config(ws, "lm_conf: {codebook_size: 16, dim: 32, ffn: 64}")
    assert train_lm([str(a) for a in args] + ["--max_steps", "1"]) == 0
    info_path = ws / "codes" / "train" / "codes_info.json"
    info = json.loads(info_path.read_text())
    info["weights_hash"] = "0123456789abcdef"
    info_path.write_text(json.dumps(info))
    return args + ["--max_steps", "2"]


def _init_other_width(ws: Path) -> list:
    """A tiny model dir exported by a one-step run, then fine-tuned under a config of another width."""
    from tts_codec.bin.train_lm import main as train_lm

    args = _option_config(ws, "lm_conf: {codebook_size: 16, dim: 32, ffn: 64}")
    assert train_lm([str(a) for a in args] + ["--max_steps", "1", "--output_dir", str(ws / "init")]) == 0
    (ws / "wide.yaml").write_text(f"base: {TINY}\nlm_conf: {{codebook_size: 16, dim: 48, ffn: 64}}\n")
    return [args[0], ws / "wide.yaml", *args[2:], "--init_llm_dir", ws / "init" / "model"]


LM = [
    Case("train_lm", "mars6_init_not_a_model_dir", lambda ws: _lm_args(ws, "--init_llm_dir", ws / "tok"),
         "init_llm_dir {ws}/tok: not a MARS6 model dir"),
    Case("train_lm", "mars6_init_of_another_width", _init_other_width,
         "the config's lm_conf differs from the model's in dim (48 against 32)"),
    Case("train_lm", "mars6_resume_on_other_tokens", _resume_on_other_tokens,
         "{ws}/exp: its checkpoints were trained on other tokens (codes.weights_hash"),
    Case("train_lm", "mars6_prompt_pairs_above_one", lambda ws: _option_config(ws, "data: {prompt_pairs: 2}"),
         "config data.prompt_pairs: 2"),
    Case("train_lm", "average_last_zero",
         lambda ws: _option_config(ws, "lm_conf: {codebook_size: 16}\ntrainer: {average_last: 0}"),
         "config trainer.average_last: 0 is not a whole number >= 1"),
    Case("train_lm", "average_last_without_kept_checkpoints",
         lambda ws: _option_config(ws, "lm_conf: {codebook_size: 16}\n"
                                   "trainer: {average_last: 4, keep_checkpoints: 2}"),
         "config trainer.average_last: 4 needs trainer.keep_checkpoints >= 3 (it is 2)"),
    Case("train_lm", "mars6_dropout_one", lambda ws: _option_config(ws, "lm_conf: {dropout: 1.0}"),
         "lm_conf: dropout 1.0 must be in [0, 1)"),
    Case("train_lm", "mars6_dropout_not_a_number", lambda ws: _option_config(ws, "lm_conf: {dropout: 1e-1}"),
         "lm_conf.dropout: expected float, got '1e-1'"),
    Case("train_lm", "mars6_level_restricted_loss_not_bool",
         lambda ws: _option_config(ws, "level_restricted_loss: sometimes"), "level_restricted_loss"),
    Case("train_lm", "mars6_guided_attention_sigma",
         lambda ws: _guided_attention_config(ws, "guided_attention: {sigma: -1}"), "guided_attention.sigma"),
    Case("train_lm", "mars6_guided_attention_heads",
         lambda ws: _guided_attention_config(ws, "guided_attention: {heads: 5}"), "guided_attention.heads"),
    Case("train_lm", "mars6_without_xvectors", lambda ws: _lm_args(ws) + ["--xvector_dir", ws / "data"],
         "{ws}/data/train/xvector.scp: not found"),
    Case("train_lm", "mars6_spark_tokenizer",
         lambda ws: _lm_args(ws, tokenizer=make_spark_tokenizer(ws / "sparktok")), "not a MARS6 tokenizer"),
    Case("train_lm", "mars6_single_rate_codes", _spark_codes, "do not fit lm_conf levels"),
]


def _decode_args(ws: Path, *extra) -> list:
    (ws / "meta.lst").write_text("u1|hello there|ref.wav|say this\n")
    return ["--codec_dir", ws / "codec", "--lm_dir", ws / "lm", "--meta_lst", ws / "meta.lst", "--out_dir",
            ws / "out", *extra]


DECODE = [
    Case("mars6_decode", "lm_dir_missing", _decode_args, "{ws}/lm: not a MARS6 model dir"),
    *[Case("mars6_decode", f"top_p_{name}", lambda ws, v=value: _decode_args(ws, "--top_p", v), "--top_p")
      for name, value in bad_numbers("--top_p")],
    Case("mars6_decode", "max_attempts_zero", lambda ws: _decode_args(ws, "--max_attempts", "0"), "--max_attempts"),
    Case("mars6_decode", "bad_clone_mode", lambda ws: _decode_args(ws, "--deep_clone_mode", "deep"),
         "--deep_clone_mode"),
    Case("mars6_decode", "int8_weights_not_bool", lambda ws: _decode_args(ws, "--int8_weights", "maybe"),
         "--int8_weights"),
    Case("mars6_decode", "unknown_option", lambda ws: _decode_args(ws, "--frobnicate"), "--frobnicate"),
]

BENCH = [
    Case("benchmark_mars6", "config_missing", lambda ws: ["--config", ws / "nope.yaml", "--out", ws / "b"],
         "{ws}/nope.yaml"),
    *[Case("benchmark_mars6", f"steps_{name}", lambda ws, v=value: ["--steps", v, "--out", ws / "b"], "--steps")
      for name, value in bad_numbers("--steps")],
    Case("benchmark_mars6", "unknown_path", lambda ws: ["--paths", "turbo", "--out", ws / "b"], "--paths"),
    Case("benchmark_mars6", "unknown_option", lambda ws: ["--frobnicate", "--out", ws / "b"], "--frobnicate"),
]


def _pref_args(ws: Path, *extra) -> list:
    (ws / "meta.lst").write_text("u1|hello there|ref.wav|say this\n")
    return ["--lm_dir", ws / "lm", "--codec_dir", ws / "codec", "--meta_lst", ws / "meta.lst", "--out_dir",
            ws / "orpo", *extra]


PREFERENCE = [
    Case("mars6_preference", "lm_dir_missing", _pref_args, "{ws}/lm: not a MARS6 model dir"),
    Case("mars6_preference", "one_candidate", lambda ws: _pref_args(ws, "--num_candidates", "1"),
         "--num_candidates"),
    *[Case("mars6_preference", f"lr_{name}", lambda ws, v=value: _pref_args(ws, "--lr", v), "--lr")
      for name, value in bad_numbers("--lr")],
    Case("mars6_preference", "unknown_option", lambda ws: _pref_args(ws, "--frobnicate"), "--frobnicate"),
]
CASES = XVECTORS + TOKENIZER + LM + DECODE + BENCH + PREFERENCE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
