"""Hostile inputs for the LM verbs (stage 4 train_text_tokenizer, stage 8 train_lm): each must be refused with one
clear message naming the culprit, exit non-zero, and leave every file as it was (tts_codec.testing.hostile)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tts_codec.testing.hostile import Case, bad_numbers, check_case, set_line
from tts_codec.testing.mars6 import make_mars6_tokenizer
from tts_codec.testing.spark_lm import make_lm_corpus, make_spark_tokenizer, qwen_style_tokenizer

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "conf" / "lm" / "spark_tiny.yaml"
MARS6 = REPO / "egs" / "mini" / "tts1" / "conf" / "mars6_tiny.yaml"


def _corpus(ws: Path) -> tuple[Path, Path]:
    return make_lm_corpus(ws, "train", num_utts=6)


def _tok_args(ws: Path, *extra) -> list:
    train, _ = _corpus(ws)
    return ["--text", train, "--vocab_size", "300", "--output_dir", ws / "tok", *extra]


def _plain_tokenizer(ws: Path) -> Path:
    qwen_style_tokenizer().save_pretrained(str(ws / "plain"))
    return ws / "plain"


def _other_tokenizer(ws: Path) -> list:
    args = _tok_args(ws)
    make_spark_tokenizer(ws / "tok")  # made from other text: replacing it needs --overwrite true
    return args


TOKENIZER = [
    Case("train_text_tokenizer", "text_missing", lambda ws: ["--text", ws / "nope", "--output_dir", ws / "tok"],
         "--text {ws}/nope"),
    Case("train_text_tokenizer", "no_input", lambda ws: ["--output_dir", ws / "tok"], "--pretrained_dir"),
    Case("train_text_tokenizer", "vocab_below_alphabet", lambda ws: _tok_args(ws)[:2] + ["--vocab_size", "270",
                                                                                         "--output_dir", ws / "tok"],
         "--vocab_size 270"),
    Case("train_text_tokenizer", "all_text_empty",
         lambda ws: ((ws / "text").write_text("a \nb \n"), ["--text", ws / "text", "--output_dir", ws / "tok"])[1],
         "no training text"),
    Case("train_text_tokenizer", "text_bad_utf8",
         lambda ws: (_tok_args(ws), set_line(ws / "data" / "train" / "text", 2, b"spk1_utt001 caf\xe9"))[0],
         "{ws}/data/train/text:2"),
    Case("train_text_tokenizer", "pretrained_missing", lambda ws: ["--pretrained_dir", ws / "nope", "--output_dir",
                                                                   ws / "tok"], "{ws}/nope"),
    Case("train_text_tokenizer", "pretrained_not_spark",
         lambda ws: ["--pretrained_dir", _plain_tokenizer(ws), "--output_dir", ws / "tok"], "lacks 13493 Spark"),
    Case("train_text_tokenizer", "output_of_other_inputs", _other_tokenizer, "--overwrite"),
    *[Case("train_text_tokenizer", f"vocab_size_{name}", lambda ws, v=value: _tok_args(ws)[:2] + [
        "--vocab_size", v, "--output_dir", ws / "tok"], "--vocab_size") for name, value in bad_numbers("--vocab_size")],
    Case("train_text_tokenizer", "unknown_option", lambda ws: _tok_args(ws, "--frobnicate"), "--frobnicate"),
    Case("train_text_tokenizer", "g2p_unknown", lambda ws: _tok_args(ws, "--g2p", "pinyin"), "--g2p"),
    Case("train_text_tokenizer", "g2p_with_pretrained",
         lambda ws: ["--pretrained_dir", _plain_tokenizer(ws), "--g2p", "espeak_ipa", "--output_dir", ws / "tok"],
         "--g2p"),
]



# ---- lm_learning_curve (refused before any export, decoding or scoring) ----------------------------------------

def _lm_run(ws: Path, checkpoints: bool = True, family: str = "spark", config: str | None = None,
            ckpt: object = None, name: str = "exp") -> Path:
    """A train_lm output dir of `family`: config.yaml (`config`: its text) and (optionally) one periodic checkpoint
    (`ckpt`: its content; default the header of one of `family`, without weights)."""
    run = ws / name
    (run / "checkpoints").mkdir(parents=True)
    base = TINY if family == "spark" else MARS6
    (run / "config.yaml").write_text(config if config is not None else f"base: {base}\n")
    if checkpoints:
        path = run / "checkpoints" / "batch00000001.ckpt"
        if isinstance(ckpt, bytes):
            path.write_bytes(ckpt)
        else:
            torch.save({"hyper_parameters": {"config": {"lm": family}}, "state_dict": {}} if ckpt is None else ckpt,
                       path)
    return run


def _clone_list(ws: Path, gt: bool = True) -> Path:
    """A two-line clone list over real wavs (5 fields with `gt`)."""
    import numpy as np
    import soundfile

    wavs = []
    for name in ("a", "b"):
        wavs.append(ws / f"{name}.wav")
        soundfile.write(wavs[-1], np.zeros(1600, np.float32), 16000)
    tail = f"|{wavs[1]}" if gt else ""
    (ws / "meta.lst").write_text(f"u1|Hello there.|{wavs[0]}|Good morning.{tail}\n"
                                 f"u2|Hello there.|{wavs[0]}|Good evening.{tail}\n")
    return ws / "meta.lst"


def _curve(ws: Path, *extra, run: Path | None = None, meta: Path | None = None) -> list:
    return ["--run_dir", run or _lm_run(ws), "--codec_dir", ws, "--meta_lst", meta or _clone_list(ws),
            "--out_dir", ws / "curves", *extra]


def _other_list_in_out_dir(ws: Path) -> list:
    (ws / "curves").mkdir()
    (ws / "curves" / "meta.lst").write_text("u9|x|y|z|w\n")
    return _curve(ws)


def _mars6_run(ws: Path, tokenizer: bool = True, extra: str = "", **kw) -> Path:
    """A MARS6 run whose config names a real stage-4 tokenizer (`tokenizer`) and adds `extra` YAML."""
    tok = f"tokenizer_dir: {make_mars6_tokenizer(ws / 'tok')}\n" if tokenizer else ""
    return _lm_run(ws, family="mars6", config=f"base: {MARS6}\n{tok}{extra}", **kw)


def _mars6_curve(ws: Path, *extra, codec: str = "snac", **kw) -> list:
    """Curve arguments for a MARS6 run with a SNAC (or BiCodec) --codec_dir."""
    from tts_codec.testing.codec_dirs import save_tiny_model
    from tts_codec.testing.mars6_dirs import make_snac_dir

    codec_dir = make_snac_dir(ws / "snac") if codec == "snac" else save_tiny_model(ws / "bicodec")
    return _curve(ws, "--codec_dir", codec_dir, *extra, run=_mars6_run(ws, **kw))


def _codes_of_list(ws: Path) -> Path:
    """Tokens of the list targets u1, u2 with the Spark streams (not SNAC levels)."""
    import numpy as np

    from tts_codec.data.token_file import CodesInfo, StreamInfo, TokenWriter

    info = CodesInfo(codec="bicodec", sample_rate=16000, hop_length=320, config_hash="test",
                     streams={"semantic": StreamInfo((-1,), 8192), "global": StreamInfo((1, 32), 4096)})
    with TokenWriter(ws / "codes", info, overwrite=True) as writer:
        for utt in ("u1", "u2"):
            writer.add(utt, {"semantic": np.zeros(10, np.int64), "global": np.zeros((1, 32), np.int64)})
    return ws / "codes"


def _xvectors(ws: Path) -> Path:
    import numpy as np

    from tts_codec.data.ark import write_ark

    write_ark(ws / "x.ark", ws / "x.scp", {"u9": np.zeros(256, np.float32)})
    return ws / "x.scp"


CURVE = [
    Case("lm_learning_curve", "run_dir_not_a_run", lambda ws: _curve(ws, run=ws), "no config.yaml"),
    Case("lm_learning_curve", "run_without_checkpoints", lambda ws: _curve(ws, run=_lm_run(ws, False)),
         "{ws}/exp/checkpoints: no batchNNNNNNNN.ckpt"),
    Case("lm_learning_curve", "names_do_not_match", lambda ws: _curve(ws, "--name", "a", "--name", "b"),
         "--name given 2 times for 1 --run_dir"),
    Case("lm_learning_curve", "codec_dir_missing", lambda ws: _curve(ws, "--codec_dir", ws / "nope"),
         "--codec_dir {ws}/nope"),
    Case("lm_learning_curve", "meta_lst_missing", lambda ws: _curve(ws, meta=ws / "nope.lst"), "{ws}/nope.lst"),
    Case("lm_learning_curve", "meta_lst_without_targets", lambda ws: _curve(ws, meta=_clone_list(ws, gt=False)),
         "5th field"),
    Case("lm_learning_curve", "meta_lst_prompt_missing",
         lambda ws: _curve(ws, meta=(_clone_list(ws), (ws / "a.wav").unlink())[0]), "{ws}/meta.lst:1"),
    Case("lm_learning_curve", "meta_lst_bad_line",
         lambda ws: _curve(ws, meta=(_clone_list(ws), set_line(ws / "meta.lst", 2, b"u2 only"))[0]),
         "{ws}/meta.lst:2"),
    Case("lm_learning_curve", "out_dir_holds_another_list", _other_list_in_out_dir, "holds another list"),
    Case("lm_learning_curve", "codes_dir_not_codes", lambda ws: _curve(ws, "--codes_dir", ws), "{ws}"),
    Case("lm_learning_curve", "codes_dir_lacks_targets", lambda ws: _curve(ws, "--codes_dir", _corpus(ws)[1] / "train"),
         "no tokens for 2 list target(s), e.g. u1"),
    *[Case("lm_learning_curve", f"{option}_{name}", lambda ws, o=option, v=value: _curve(ws, f"--{o}", v),
           f"--{option}") for option in ("max_utts", "asr_beam_size", "max_new_tokens", "batches_per_second")
       for name, value in bad_numbers(option) if (option, value) != ("max_utts", "0")],  # 0 = the whole list
    Case("lm_learning_curve", "unknown_option", lambda ws: _curve(ws, "--frobnicate"), "--frobnicate"),
    # the LM family (spark or mars6) of each run and checkpoint
    Case("lm_learning_curve", "run_of_a_codec", lambda ws: _curve(ws, run=_lm_run(ws, config="codec: snac\n")),
         "{ws}/exp/config.yaml: lm: None is not an LM family"),
    Case("lm_learning_curve", "checkpoint_not_of_an_lm_run", lambda ws: _curve(ws, run=_lm_run(ws, ckpt={"step": 1})),
         "{ws}/exp/checkpoints/batch00000001.ckpt: not a checkpoint of a spark LM run"),
    Case("lm_learning_curve", "checkpoint_of_the_other_family",
         lambda ws: _curve(ws, run=_lm_run(ws, family="mars6", ckpt={"hyper_parameters": {"config": {"lm": "spark"}},
                                                                     "state_dict": {}})),
         "{ws}/exp/checkpoints/batch00000001.ckpt: not a checkpoint of a mars6 LM run"),
    Case("lm_learning_curve", "checkpoint_not_readable", lambda ws: _curve(ws, run=_lm_run(ws, ckpt=b"not a zip")),
         "{ws}/exp/checkpoints/batch00000001.ckpt: not a readable checkpoint"),
    Case("lm_learning_curve", "families_mixed",
         lambda ws: _curve(ws, "--run_dir", _lm_run(ws, family="mars6", name="exp2")), "several LM families"),
    Case("lm_learning_curve", "spark_run_with_a_mars6_option", lambda ws: _curve(ws, "--deep_clone_mode", "none"),
         "--deep_clone_mode: only for MARS6 runs"),
    # what a MARS6 run needs besides its checkpoints
    Case("lm_learning_curve", "mars6_run_with_a_spark_option",
         lambda ws: _curve(ws, "--max_new_tokens", "9", run=_lm_run(ws, family="mars6")),
         "--max_new_tokens: only for Spark LM runs"),
    Case("lm_learning_curve", "mars6_run_without_tokenizer", lambda ws: _mars6_curve(ws, tokenizer=False),
         "{ws}/exp/config.yaml: no tokenizer_dir; pass --tokenizer_dir"),
    Case("lm_learning_curve", "mars6_tokenizer_dir_missing",
         lambda ws: _mars6_curve(ws, "--tokenizer_dir", ws / "nope", tokenizer=False),
         "--tokenizer_dir {ws}/nope: no such directory"),
    Case("lm_learning_curve", "mars6_wavlm_without_model_dir",
         lambda ws: _mars6_curve(ws, extra="speaker_embedding: {extractor: wavlm}\nlm_conf: {speaker_dim: 512}\n"),
         "pass --speaker_model_dir"),
    Case("lm_learning_curve", "mars6_codec_not_snac", lambda ws: _mars6_curve(ws, codec="bicodec"),
         "--codec_dir {ws}/bicodec: streams"),
    Case("lm_learning_curve", "mars6_codes_not_snac", lambda ws: _mars6_curve(ws, "--codes_dir", _codes_of_list(ws)),
         "--codes_dir {ws}/codes: streams"),
    Case("lm_learning_curve", "mars6_xvector_scp_lacks_targets",
         lambda ws: _mars6_curve(ws, "--xvector_scp", _xvectors(ws)),
         "--xvector_scp {ws}/x.scp: no x-vector for 2 list target(s), e.g. u1"),
]

def _lm_args(ws: Path, *extra, tokenizer: bool = True, config: Path = TINY) -> list:
    train, codes = _corpus(ws)
    tok = ["--tokenizer_dir", make_spark_tokenizer(ws / "tok")] if tokenizer else []
    return ["--config", config, "--train_data", train, "--codes_dir", codes, "--output_dir", ws / "exp", *tok, *extra]


def _yaml(ws: Path, text: str) -> Path:
    (ws / "lm.yaml").write_text(f"base: {TINY}\n{text}")
    return ws / "lm.yaml"


def _no_semantic(ws: Path) -> list:
    args = _lm_args(ws)
    info = ws / "codes" / "train" / "codes_info.json"
    info.write_text(info.read_text().replace('"semantic"', '"acoustic"'))
    (ws / "codes" / "train" / "semantic.scp").rename(ws / "codes" / "train" / "acoustic.scp")
    return args


LM = [
    Case("train_lm", "config_missing", lambda ws: _lm_args(ws, config=ws / "nope.yaml"), "{ws}/nope.yaml"),
    Case("train_lm", "no_tokenizer", lambda ws: _lm_args(ws, tokenizer=False), "tokenizer_dir"),
    Case("train_lm", "tokenizer_not_spark", lambda ws: _lm_args(ws, tokenizer=False) + [
        "--tokenizer_dir", _plain_tokenizer(ws)], "lacks 13493 Spark"),
    Case("train_lm", "train_data_missing", lambda ws: _lm_args(ws) + ["--train_data", ws / "nope"], "{ws}/nope"),
    Case("train_lm", "codes_dir_without_set", lambda ws: _lm_args(ws) + ["--codes_dir", ws / "nope"],
         "--codes_dir: no {ws}/nope/train"),
    Case("train_lm", "codes_dir_not_tokens", lambda ws: _lm_args(ws) + ["--codes_dir", ws / "data"],
         "{ws}/data/train/codes_info.json: not found"),
    Case("train_lm", "codes_without_semantic", _no_semantic, "no 'semantic' token stream"),
    Case("train_lm", "no_text", lambda ws: (_lm_args(ws), (ws / "data" / "train" / "text").unlink())[0],
         "no text file"),
    Case("train_lm", "unknown_lm_key", lambda ws: _lm_args(ws, config=_yaml(ws, "lm_conf: {hiden_size: 8}\n")),
         "hiden_size"),
    Case("train_lm", "step_cannot_be_filled",
         lambda ws: _lm_args(ws, config=_yaml(ws, "data: {accumulate_grad_batches: 1000}\n")), "accumulate"),
    Case("train_lm", "semantic_input_noise_one", lambda ws: _lm_args(ws, config=_yaml(ws, "semantic_input_noise: 1\n")),
         "semantic_input_noise: a probability in [0, 1)"),
    Case("train_lm", "semantic_input_noise_decay_zero",
         lambda ws: _lm_args(ws, config=_yaml(ws, "semantic_input_noise: 0.3\nsemantic_input_noise_decay_steps: 0\n")),
         "semantic_input_noise_decay_steps: a whole number of batches >= 1"),
    Case("train_lm", "unknown_scheduler", lambda ws: _lm_args(ws, config=_yaml(ws, "scheduler: cosine\n")),
         "cosine"),
    *[Case("train_lm", f"max_steps_{name}", lambda ws, v=value: _lm_args(ws, "--max_steps", v), "--max_steps")
      for name, value in bad_numbers("--max_steps")],
    Case("train_lm", "num_nodes_zero", lambda ws: _lm_args(ws, "--num_nodes", "0"), "--num_nodes"),
    Case("train_lm", "unknown_option", lambda ws: _lm_args(ws, "--frobnicate"), "--frobnicate"),
]
CASES = CURVE + TOKENIZER + LM


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
