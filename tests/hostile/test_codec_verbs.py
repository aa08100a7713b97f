"""Hostile inputs for the codec and training verbs (codec_tokenize, codec_decode, convert_bicodec, extract_ssl_feats,
train_codec, make_synthetic_corpus, benchmark_bicodec, codec_learning_curve): each must be refused with one clear
message naming the culprit, exit non-zero, and leave every file as it was (tts_codec.testing.hostile). The tiny
BiCodec, a second one of the same config (other weights) and its tokens are built once and copied into the cases
that change them."""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tts_codec.bin import codec_decode, codec_tokenize, extract_ssl_feats
from tts_codec.data.ark import load_scp_dict, write_ark
from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.hostile import Case, bad_numbers, check_case, data_dir, replace_audio

REPO = Path(__file__).resolve().parents[2]
TRAIN_TINY = REPO / "conf" / "train" / "bicodec_tiny.yaml"
SNAC_TRAIN_TINY = REPO / "conf" / "train" / "snac_tiny.yaml"
CODEC_TINY = REPO / "conf" / "codec" / "bicodec_tiny.yaml"


@functools.lru_cache(maxsize=None)
def _shared() -> Path:
    """model/ (tiny BiCodec, seed 0), other/ (same config, seed 1), data/ (4 utterances) and codes/ (their tokens by
    model/, scps pointing at `codes/*.ark` relative to this dir, so a copy works from the case's workspace)."""
    root = Path(tempfile.mkdtemp(prefix="tts_codec_hostile_codec_"))
    atexit.register(shutil.rmtree, root, True)
    save_tiny_model(root / "model")
    save_tiny_model(root / "other", seed=1)
    data_dir(root, "data", num_speakers=2, utts_per_speaker=2)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert codec_tokenize.main(["--model_dir", "model", "--data_dir", "data", "--out_dir", "codes"]) == 0
    finally:
        os.chdir(cwd)
    return root


def _model(ws: Path, edit=None) -> Path:
    """A copy of the tiny model in ws/model, `edit(model_dir)` applied."""
    shutil.copytree(_shared() / "model", ws / "model")
    if edit:
        edit(ws / "model")
    return ws / "model"


def _truncate(path: Path, keep: float | int = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])


def _nan_weights(model_dir: Path) -> None:
    """A diverged model: the decoder's weights are NaN."""
    weights = model_dir / "model.safetensors"
    state = load_file(str(weights))
    state = {k: torch.full_like(v, float("nan")) if "decoder" in k and v.is_floating_point() else v
             for k, v in state.items()}
    save_file(state, str(weights), metadata={"format": "tts_codec.bicodec", "version": "1"})


def _codes(ws: Path) -> Path:
    """The shared tokens copied to ws/codes."""
    shutil.copytree(_shared() / "codes", ws / "codes")
    return ws / "codes"


# ---- codec_tokenize ----------------------------------------------------------------------------------------------

def _tok(ws: Path, *extra, model: Path | None = None, data: Path | None = None) -> list:
    return ["--model_dir", model or _shared() / "model", "--data_dir", data or _shared() / "data", "--out_dir",
            ws / "codes", *extra]


def _no_codec_key(model_dir: Path) -> None:
    cfg = model_dir / "config.yaml"
    cfg.write_text("\n".join(line for line in cfg.read_text().splitlines() if not line.startswith("codec:")) + "\n")


TOKENIZE = [
    Case("codec_tokenize", "model_dir_missing", lambda ws: _tok(ws, model=ws / "nope"), "--model_dir {ws}/nope"),
    Case("codec_tokenize", "weights_truncated", lambda ws: _tok(ws, model=_model(ws, lambda m: _truncate(
        m / "model.safetensors"))), "{ws}/model/model.safetensors: not a readable safetensors file"),
    Case("codec_tokenize", "weights_header_cut", lambda ws: _tok(ws, model=_model(ws, lambda m: _truncate(
        m / "model.safetensors", 5))), "{ws}/model/model.safetensors"),
    Case("codec_tokenize", "weights_nan", lambda ws: _tok(ws, model=_model(ws, _nan_weights)),
         "{ws}/model/model.safetensors: "),
    Case("codec_tokenize", "config_without_codec", lambda ws: _tok(ws, model=_model(ws, _no_codec_key)),
         "no 'codec:'"),
    Case("codec_tokenize", "device_unknown", lambda ws: _tok(ws, "--device", "tpu"), "--device 'tpu'"),
    Case("codec_tokenize", "device_cuda_absent", lambda ws: _tok(ws, "--device", "cuda:99"), "--device 'cuda:99'"),
    *[Case("codec_tokenize", f"batch_size_{name}", lambda ws, v=value: _tok(ws, "--batch_size", v), "--batch_size")
      for name, value in bad_numbers("--batch_size")],
    *[Case("codec_tokenize", f"num_threads_{name}", lambda ws, v=value: _tok(ws, "--num_threads", v),
           "--num_threads") for name, value in bad_numbers("--num_threads") if name != "zero"],
    Case("codec_tokenize", "data_dir_missing", lambda ws: _tok(ws, data=ws / "nope"), "{ws}/nope"),
    Case("codec_tokenize", "out_dir_of_other_weights",
         lambda ws: (_codes(ws), _tok(ws, model=_shared() / "other"))[1], "holds tokens of another model"),
    Case("codec_tokenize", "out_dir_with_extra_utterances",
         lambda ws: (_codes(ws), _tok(ws, data=data_dir(ws, num_speakers=2, utts_per_speaker=1)))[1],
         "other utterances than the data dir (has 2 more"),
    Case("codec_tokenize", "out_dir_missing_utterances",
         lambda ws: (_codes(ws), _tok(ws, data=data_dir(ws, num_speakers=2, utts_per_speaker=3)))[1],
         "other utterances than the data dir (lacks 2"),
    Case("codec_tokenize", "out_dir_read_only", lambda ws: (ws / "codes").mkdir() or _tok(ws), "{ws}/codes",
         read_only=("codes",)),
    Case("codec_tokenize", "unknown_option", lambda ws: _tok(ws, "--frobnicate"), "--frobnicate"),
]


# ---- codec_decode ------------------------------------------------------------------------------------------------

def _dec(ws: Path, *extra, model: Path | None = None, codes: Path | None = None) -> list:
    return ["--model_dir", model or _shared() / "model", "--codes_dir", codes or _codes(ws), "--out_dir", ws / "out",
            *extra]


def _bad_token(ws: Path) -> list:
    """One semantic token beyond the 8192-word vocabulary."""
    codes = _codes(ws)
    with contextlib.chdir(ws):  # the scps name their arks relative to the workspace
        arrays = {u: np.array(a) for u, a in load_scp_dict("codes/semantic.scp").items()}
        arrays["spk1-utt2"][3] = 9000
        write_ark("codes/semantic.ark", "codes/semantic.scp", arrays, overwrite=True)
    return _dec(ws, codes=codes)


def _finished_decode(ws: Path) -> list:
    """A finished decode dir; --overwrite true with tokens the model did not make must not cost it."""
    (ws / "out" / "wav").mkdir(parents=True)
    (ws / "out" / "wav" / "wav.scp").write_text("spk1-utt1 out/wav/spk1-utt1.wav\n")
    (ws / "out" / "wav" / "spk1-utt1.wav").write_bytes(b"RIFF")
    return _dec(ws, "--overwrite", "true", model=_shared() / "other")


DECODE = [
    Case("codec_decode", "codes_dir_missing", lambda ws: _dec(ws, codes=ws / "nope"), "{ws}/nope/codes_info.json"),
    Case("codec_decode", "codes_info_broken",
         lambda ws: (_dec(ws), (ws / "codes" / "codes_info.json").write_text("{oops"))[0],
         "{ws}/codes/codes_info.json: not valid JSON"),
    Case("codec_decode", "tokens_of_other_weights", lambda ws: _dec(ws, model=_shared() / "other"),
         "cannot be decoded with the other weights"),
    Case("codec_decode", "finished_output_kept", _finished_decode, "weights hash"),
    Case("codec_decode", "tokens_of_other_vocabulary",
         lambda ws: _dec(ws, model=save_tiny_model(ws / "small", codebook_size=1024)), "do not fit the model"),
    Case("codec_decode", "ark_truncated", lambda ws: (_dec(ws), _truncate(ws / "codes" / "semantic.ark"))[0],
         "{ws}/codes/semantic.scp:"),
    Case("codec_decode", "token_out_of_range", _bad_token, "semantic tokens must be integers in [0, 8192)"),
    Case("codec_decode", "weights_truncated", lambda ws: _dec(ws, model=_model(ws, lambda m: _truncate(
        m / "model.safetensors"))), "{ws}/model/model.safetensors"),
    Case("codec_decode", "weights_nan", lambda ws: _dec(ws, model=_model(ws, _nan_weights)), "NaN or infinite"),
    Case("codec_decode", "device_unknown", lambda ws: _dec(ws, "--device", "gpu0"), "--device 'gpu0'"),
    Case("codec_decode", "device_cuda_absent", lambda ws: _dec(ws, "--device", "cuda:99"), "--device 'cuda:99'"),
    Case("codec_decode", "dtype_unknown", lambda ws: _dec(ws, "--dtype", "fp8"), "--dtype"),
    *[Case("codec_decode", f"batch_size_{name}", lambda ws, v=value: _dec(ws, "--batch_size", v), "--batch_size")
      for name, value in bad_numbers("--batch_size")],
]


# ---- convert_bicodec ---------------------------------------------------------------------------------------------

CONVERT = [
    Case("convert_bicodec", "input_missing", lambda ws: ["--mode", "export", ws / "nope", ws / "out"],
         "input_dir {ws}/nope"),
    Case("convert_bicodec", "import_of_ours", lambda ws: ["--mode", "import", _model(ws), ws / "out"],
         "not an official BiCodec dir"),
    Case("convert_bicodec", "weights_truncated", lambda ws: ["--mode", "export", _model(ws, lambda m: _truncate(
        m / "model.safetensors")), ws / "out"], "{ws}/model/model.safetensors"),
    Case("convert_bicodec", "output_exists", lambda ws: ["--mode", "export", _model(ws), _model(ws / "out").parent],
         "output_dir {ws}/out already exists"),
    Case("convert_bicodec", "output_is_input", lambda ws: ["--mode", "export", _model(ws), ws / "model",
                                                           "--overwrite", "true"], "is also an input"),
    Case("convert_bicodec", "mode_missing", lambda ws: [_model(ws), ws / "out"], "--mode"),
]


# ---- extract_ssl_feats -------------------------------------------------------------------------------------------

def _feats(ws: Path, *extra, data: Path | None = None, config: Path = TRAIN_TINY) -> list:
    return ["--config", config, "--data_dir", data or _shared() / "data", "--out_dir", ws / "feats", *extra]


def _nan_data(ws: Path) -> Path:
    data = data_dir(ws)
    replace_audio(data, "nan", line=2)
    return data


def _feats_done(ws: Path) -> list:
    """Features already extracted as float32: float16 ones must not replace them without --overwrite."""
    assert extract_ssl_feats.main([str(a) for a in _feats(ws)]) == 0
    return _feats(ws, "--dtype", "float16")


FEATS = [
    Case("extract_ssl_feats", "config_missing", lambda ws: _feats(ws, config=ws / "nope.yaml"), "{ws}/nope.yaml"),
    Case("extract_ssl_feats", "data_dir_missing", lambda ws: _feats(ws, data=ws / "nope"), "{ws}/nope"),
    Case("extract_ssl_feats", "nan_audio", lambda ws: _feats(ws, data=_nan_data(ws)),
         "utterance spk1-utt2: audio"),
    Case("extract_ssl_feats", "ssl_model_dir_missing", lambda ws: _feats(ws, "--ssl_model_dir", ws / "w2v"),
         "--ssl_model_dir {ws}/w2v: no such directory"),
    Case("extract_ssl_feats", "device_unknown", lambda ws: _feats(ws, "--device", "tpu"), "--device 'tpu'"),
    Case("extract_ssl_feats", "device_cuda_absent", lambda ws: _feats(ws, "--device", "cuda:99"),
         "--device 'cuda:99'"),
    Case("extract_ssl_feats", "dtype_unknown", lambda ws: _feats(ws, "--dtype", "int8"), "--dtype"),
    Case("extract_ssl_feats", "output_of_other_settings", _feats_done, "other SSL settings"),
    *[Case("extract_ssl_feats", f"job_{name}", lambda ws, v=value: _feats(ws, "--job", v), "--job")
      for name, value in bad_numbers("--job")],
]


# ---- train_codec -------------------------------------------------------------------------------------------------

def _train(ws: Path, *extra, config: Path = TRAIN_TINY, train: Path | None = None) -> list:
    return ["--config", config, "--train_data", train or _shared() / "data", "--output_dir", ws / "exp",
            "--max_steps", "1", *extra]


def _snac_config(ws: Path, section: str) -> list:
    """train_codec arguments with the tiny SNAC training config plus `section` (YAML text)."""
    config = ws / "snac.yaml"
    config.write_text(f"base: {SNAC_TRAIN_TINY}\n{section}\n")
    return _train(ws, config=config)


def _snac_distill(ws: Path, content_distill: str) -> list:
    """The tiny SNAC training config with a `content_distill` section (weight set) written as given."""
    return _snac_config(ws, f"loss_weights: {{content: 1.0}}\ncontent_distill: {content_distill}")


def _truncated_last_ckpt(ws: Path) -> list:
    """An experiment whose last.ckpt a killed copy cut in half."""
    ckpt = ws / "exp" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"global_step": 2, "state_dict": {"w": torch.zeros(4096)}}, ckpt)
    _truncate(ckpt)
    return _train(ws)


TRAIN = [
    Case("train_codec", "config_missing", lambda ws: _train(ws, config=ws / "nope.yaml"), "{ws}/nope.yaml"),
    Case("train_codec", "train_data_missing", lambda ws: _train(ws, train=ws / "nope"), "{ws}/nope"),
    Case("train_codec", "feats_dir_missing", lambda ws: _train(ws, "--feats_dir", ws / "feats"), "run stage 3"),
    Case("train_codec", "ngpu_beyond_machine", lambda ws: _train(ws, "--ngpu", "99"), "--ngpu 99"),
    Case("train_codec", "last_ckpt_truncated", _truncated_last_ckpt,
         "{ws}/exp/checkpoints/last.ckpt: not a readable checkpoint"),
    Case("train_codec", "ssl_model_dir_missing", lambda ws: _train(ws, "--ssl_model_dir", ws / "w2v"),
         "--ssl_model_dir {ws}/w2v"),
    *[Case("train_codec", f"max_steps_{name}", lambda ws, v=value: _train(ws, "--max_steps", v), "--max_steps")
      for name, value in bad_numbers("--max_steps")],
    Case("train_codec", "ngpu_negative", lambda ws: _train(ws, "--ngpu", "-1"), "--ngpu"),
    Case("train_codec", "num_nodes_zero", lambda ws: _train(ws, "--num_nodes", "0"), "--num_nodes"),
    Case("train_codec", "num_workers_negative", lambda ws: _train(ws, "--num_workers", "-1"), "--num_workers"),
    Case("train_codec", "batch_size_zero", lambda ws: _train(ws, "--batch_size", "0"), "--batch_size"),
    Case("train_codec", "batch_size_one", lambda ws: _train(ws, "--batch_size", "1"), "data.batch_size is 1"),
    Case("train_codec", "seed_negative", lambda ws: _train(ws, "--seed", "-1"), "--seed"),
    Case("train_codec", "unknown_option", lambda ws: _train(ws, "--frobnicate"), "--frobnicate"),
    Case("train_codec", "content_distill_model_dir_missing",
         lambda ws: _snac_distill(ws, f"{{model_dir: {ws / 'whisper'}}}"), "content_distill.model_dir {ws}/whisper"),
    Case("train_codec", "content_distill_levels_beyond_the_codec", lambda ws: _snac_distill(ws, "{levels: 9}"),
         "content_distill.levels"),
    Case("train_codec", "content_distill_unknown_teacher", lambda ws: _snac_distill(ws, "{teacher: hubert}"),
         "content_distill.teacher"),
    Case("train_codec", "snac_wave_encoder_unknown_type",
         lambda ws: _snac_config(ws, "wave_encoder: {type: whisper, channels: 8}"), "wave_encoder must be a mapping"),
    Case("train_codec", "snac_wave_encoder_window_below_hop",
         lambda ws: _snac_config(ws, "wave_encoder: {type: mel, channels: 8, n_fft: 256}"), "wave_encoder.n_fft (256)"),
    Case("train_codec", "snac_wave_encoder_n_mels_zero",
         lambda ws: _snac_config(ws, "wave_encoder: {type: mel, channels: 8, n_mels: 0}"), "wave_encoder.n_mels"),
    Case("train_codec", "snac_dead_code_restart_patience_zero",
         lambda ws: _snac_config(ws, "dead_code_restart: {patience: 0}"), "dead_code_restart.patience"),
    Case("train_codec", "snac_dead_code_restart_unknown_key",
         lambda ws: _snac_config(ws, "dead_code_restart: {patience: 5, decay: 0.99}"), "['decay']"),
    Case("train_codec", "init_from_missing", lambda ws: _train(ws, "--init_from", ws / "start"),
         "init_from: {ws}/start is not a directory"),
    Case("train_codec", "init_from_not_a_model_dir", lambda ws: (ws / "start").mkdir() or _train(
        ws, "--init_from", ws / "start"), "{ws}/start"),
]


# ---- make_synthetic_corpus and benchmark_bicodec -----------------------------------------------------------------

def _synth(ws: Path, *extra) -> list:
    return ["--out_dir", ws / "corpus", *extra]


SYNTH = [
    Case("make_synthetic_corpus", "num_speakers_zero", lambda ws: _synth(ws, "--num_speakers", "0"),
         "--num_speakers must be in"),
    Case("make_synthetic_corpus", "num_speakers_text", lambda ws: _synth(ws, "--num_speakers", "four"),
         "--num_speakers"),
    Case("make_synthetic_corpus", "utts_per_speaker_zero", lambda ws: _synth(ws, "--utts_per_speaker", "0"),
         "--utts_per_speaker"),
    Case("make_synthetic_corpus", "dev_utts_negative", lambda ws: _synth(ws, "--dev_utts_per_speaker", "-1"),
         "--dev_utts_per_speaker"),
    Case("make_synthetic_corpus", "test_utts_zero", lambda ws: _synth(ws, "--test_utts_per_speaker", "0"),
         "--test_utts_per_speaker"),
    *[Case("make_synthetic_corpus", f"sample_rate_{name}", lambda ws, v=value: _synth(ws, "--sample_rate", v),
           "--sample_rate") for name, value in bad_numbers("--sample_rate")],
    Case("make_synthetic_corpus", "seed_negative", lambda ws: _synth(ws, "--seed", "-1"), "--seed"),
    Case("make_synthetic_corpus", "size_unknown", lambda ws: _synth(ws, "--size", "huge"), "--size"),
    Case("make_synthetic_corpus", "splice_sentences_not_a_bool",
         lambda ws: _synth(ws, "--splice_sentences", "maybe"), "--splice_sentences"),
]


def _bench(ws: Path, *extra) -> list:
    return ["--config", CODEC_TINY, "--out", ws / "bench", "--isolate", "false", *extra]


BENCHMARK = [
    Case("benchmark_bicodec", "config_missing", lambda ws: _bench(ws, "--config", ws / "nope.yaml"),
         "--config {ws}/nope.yaml"),
    *[Case("benchmark_bicodec", f"seconds_{name}", lambda ws, v=value: _bench(ws, "--seconds", v), "--seconds")
      for name, value in bad_numbers("--seconds")],
    *[Case("benchmark_bicodec", f"batch_sizes_{name}", lambda ws, v=value: _bench(ws, "--batch_sizes", "1", v),
           "--batch_sizes") for name, value in bad_numbers("--batch_sizes")],
    Case("benchmark_bicodec", "runs_zero", lambda ws: _bench(ws, "--runs", "0"), "--runs"),
    Case("benchmark_bicodec", "threads_zero", lambda ws: _bench(ws, "--threads", "0"), "--threads"),
    Case("benchmark_bicodec", "warmup_negative", lambda ws: _bench(ws, "--warmup", "-1"), "--warmup"),
    Case("benchmark_bicodec", "anchor_negative", lambda ws: _bench(ws, "--anchor_decode_s", "-1"),
         "--anchor_decode_s"),
    Case("benchmark_bicodec", "device_unknown", lambda ws: _bench(ws, "--devices", "cpu", "tpu"), "--devices 'tpu'"),
    Case("benchmark_bicodec", "task_unknown", lambda ws: _bench(ws, "--tasks", "encode"), "--tasks"),
    Case("benchmark_bicodec", "official_repo_missing", lambda ws: _bench(ws, "--official_repo", ws / "spark"),
         "--official_repo {ws}/spark: not a Spark-TTS checkout"),
]


# ---- codec_learning_curve (refused before any scoring) -----------------------------------------------------------

def _run_dir(ws: Path, checkpoints: bool = True) -> Path:
    """A train_codec output dir: config.yaml and (optionally) one periodic checkpoint."""
    run = ws / "exp"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(TRAIN_TINY.read_text())
    if checkpoints:
        torch.save({"global_step": 2}, run / "checkpoints" / "batch00000001.ckpt")
    return run


def _curve(ws: Path, *extra, run: Path | None = None) -> list:
    return ["--run_dir", run or _run_dir(ws), "--data_dir", data_dir(ws), "--out_dir", ws / "curves", *extra]


CURVE = [
    Case("codec_learning_curve", "run_dir_not_a_run", lambda ws: _curve(ws, run=ws), "no config.yaml"),
    Case("codec_learning_curve", "run_without_checkpoints", lambda ws: _curve(ws, run=_run_dir(ws, False)),
         "{ws}/exp/checkpoints: no batchNNNNNNNN.ckpt"),
    Case("codec_learning_curve", "names_do_not_match", lambda ws: _curve(ws, "--name", "a", "--name", "b"),
         "--name given 2 times for 1 --run_dir"),
    Case("codec_learning_curve", "data_dir_missing", lambda ws: _curve(ws)[:2] + [
        "--data_dir", ws / "nope", "--out_dir", ws / "curves"], "--data_dir {ws}/nope"),
    *[Case("codec_learning_curve", f"{option}_{name}", lambda ws, o=option, v=value: _curve(ws, f"--{o}", v),
           f"--{option}") for option in ("asr_beam_size", "max_checkpoints", "batches_per_second")
       for name, value in bad_numbers(option)],
    Case("codec_learning_curve", "unknown_option", lambda ws: _curve(ws, "--frobnicate"), "--frobnicate"),
]

CASES = TOKENIZE + DECODE + CONVERT + FEATS + TRAIN + SYNTH + BENCHMARK + CURVE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
