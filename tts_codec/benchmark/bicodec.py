"""BiCodec inference speed with random weights of a config's shapes: tokenize with and without SSL, detokenize.

One configuration (a `spec` dict: task, device, fast, channels_last, batch, dtype, config, seconds, runs, warmup,
threads, anchor_10s, official_repo) gives one table row. Times are medians of `runs` runs after `warmup` runs, under
torch.inference_mode() with weight norm removed. `speedup` = anchor time / our time, where the anchor is
- measured: the official Spark-TTS code (`official_repo`, see official_bicodec.py) holding the same weights, timed
  in the same process interleaved with ours (decode and tokenize; fp32, on the row's device); or
- documented: performance.md's official time per 10 s at batch 1 (or a user-given one), scaled to the row's audio.
The `anchor_source` column says which. bf16 rows also report agreement with the fp32 path: PESQ (fp32 output as
reference) for decode, the fraction of equal semantic tokens for tokenize. With the official code timed beside ours,
`max_diff_official` is the largest absolute difference of the two decoded waveforms (the fp32 target: <= 1e-4).
"""
from __future__ import annotations

import resource
import sys
from typing import Any, Callable

import torch

from tts_codec.benchmark.timing import interleaved
from tts_codec.codecs import build_codec
from tts_codec.codecs.bicodec import SSLFeatureExtractor
from tts_codec.codecs.inference import precision, prepare_for_inference
from tts_codec.config import load_config

# Official timings per 10 s of audio at batch 1 (performance.md); tokenize_ssl = 16-layer wav2vec2 + tokenize.
ANCHORS = {"tokenize": 0.24, "tokenize_ssl": 1.87 + 0.24, "decode": 6.27}
#: tasks whose official time can be measured from a checkout (the official SSL path needs the real wav2vec2 dir)
OFFICIAL_TASKS = ("tokenize", "decode")
# wav2vec2-large-xlsr-53 shapes for a randomly initialised SSL extractor (only the 16 needed layers are built).
XLSR53 = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
              feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)
COLUMNS = ["task", "device", "fast", "channels_last", "batch", "dtype", "seconds", "rtf", "x_real_time", "peak_mem_mb",
           "anchor_s", "speedup", "anchor_source", "agreement", "max_diff_official", "runs"]
DOCUMENTED = "performance.md (documented)"
MEASURED = "official (measured, interleaved)"


def build_random(config: str, task: str = "decode", seed: int = 0) -> torch.nn.Module:
    """The codec of `config` with seeded random weights (weight norm still in place); tokenize_ssl adds a randomly
    initialised wav2vec2 XLSR-53 extractor unless the config names a local one."""
    cfg = load_config(config)
    if cfg["ssl_conf"].get("type") == "wav2vec2" and not cfg["ssl_conf"].get("model_dir"):
        cfg["ssl_conf"]["random_init"] = XLSR53
    torch.manual_seed(seed)
    model = build_codec(cfg)
    if task == "tokenize_ssl":
        model.set_ssl_extractor(SSLFeatureExtractor.from_config(cfg))
    return model


def decode_inputs(model, batch: int, seconds: float, device: str = "cpu", seed: int = 0):
    """Seeded random (semantic (B, T), global (B, 1, token_num)) tokens for `seconds` of audio."""
    gen = torch.Generator().manual_seed(seed)
    frames = int(seconds * model.sample_rate) // model.hop_length
    sem = torch.randint(0, model.codebook_size, (batch, frames), generator=gen)
    glob = torch.randint(0, model.global_codebook_size, (batch, 1, model.num_global_tokens), generator=gen)
    return sem.to(device), glob.to(device)


def tokenize_inputs(model, batch: int, seconds: float, device: str = "cpu", seed: int = 0):
    """Seeded random (wav (B, N), SSL features (B, T - 1, D), reference clip (B, N_ref)) for `seconds` of audio;
    the reference is the wav's first `ref_length` samples (tiled when shorter), as tokenize cuts it."""
    gen = torch.Generator().manual_seed(seed)
    frames = int(seconds * model.sample_rate) // model.hop_length
    wav = 0.1 * torch.randn(batch, frames * model.hop_length, generator=gen)
    feats = torch.randn(batch, frames - 1, model.ssl_dim, generator=gen)
    ref = wav.repeat(1, model.ref_length // wav.shape[-1] + 1)[:, : model.ref_length]
    return wav.to(device), feats.to(device), ref.to(device)


def make_call(model, spec: dict) -> Callable[[], torch.Tensor]:
    """A zero-argument callable running the task once on seeded random input; returns its output tensor."""
    batch, seconds, dev = spec["batch"], spec["seconds"], spec["device"]
    if spec["task"] == "decode":
        sem, glob = decode_inputs(model, batch, seconds, dev)
        return lambda: model.detokenize(sem, glob)
    wav, feats, ref = tokenize_inputs(model, batch, seconds, dev)
    if spec["task"] == "tokenize_ssl":
        return lambda: model.tokenize(wav)[0]
    return lambda: model.tokenize(wav, ref_wav=ref, ssl_feats=feats)[0]


def official_call(official, model, spec: dict) -> Callable[[], Any]:
    """The official model doing the same work as `make_call(model, spec)` on the same inputs (fp32)."""
    batch, seconds, dev = spec["batch"], spec["seconds"], spec["device"]
    if spec["task"] == "decode":
        sem, glob = decode_inputs(model, batch, seconds, dev)
        return lambda: official.detokenize(sem, glob)
    _, feats, ref = tokenize_inputs(model, batch, seconds, dev)
    return lambda: official.tokenize({"feat": feats, "ref_wav": ref})[0]


def agreement(task: str, out: torch.Tensor, ref: torch.Tensor, sample_rate: int) -> float | None:
    """bf16 vs fp32: PESQ (wide band) of the first decoded utterance, or the share of equal tokens."""
    if task != "decode":
        return float((out == ref).float().mean())
    from pesq import pesq

    try:
        return float(pesq(sample_rate, ref[0, 0].float().cpu().numpy(), out[0, 0].float().cpu().numpy(), "wb"))
    except Exception as err:  # noqa: BLE001 - pesq raises its own types for silent or too short signals
        print(f"pesq failed: {err}", file=sys.stderr)
        return None


def measure(spec: dict) -> dict:
    """Run one configuration in this process and return its table row (see the module docstring)."""
    torch.set_num_threads(spec["threads"])
    cuda = spec["device"].startswith("cuda")
    model = build_random(spec["config"], spec["task"])
    calls = {}
    if spec.get("official_repo") and spec["task"] in OFFICIAL_TASKS:
        from tts_codec.benchmark.official_bicodec import official_copy

        official = official_copy(model, spec["official_repo"]).to(spec["device"])
        calls["official"] = official_call(official, model, spec)
    model = prepare_for_inference(model, spec["device"], spec["fast"], spec.get("channels_last", False))
    fp32_call = make_call(model, spec)

    def ours():
        with precision(spec["dtype"], spec["device"]):
            return fp32_call()

    calls["ours"] = ours
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    with torch.inference_mode():
        timings, outputs = interleaved(calls, spec["runs"], spec["warmup"], sync)
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    agree = None
    if spec["dtype"] != "float32":
        with torch.inference_mode():
            agree = agreement(spec["task"], outputs["ours"], fp32_call(), model.sample_rate)
    seconds = timings["ours"].median
    audio = spec["batch"] * spec["seconds"]
    if "official" in timings:
        anchor, source = timings["official"].median, MEASURED
    else:
        anchor, source = spec["anchor_10s"] * audio / 10.0, spec.get("anchor_source", DOCUMENTED)
    return {**{k: spec[k] for k in ("task", "device", "fast", "batch", "dtype", "runs")},
            "channels_last": spec.get("channels_last", False), "seconds": round(seconds, 4),
            "rtf": round(seconds / audio, 4), "x_real_time": round(audio / seconds, 2), "peak_mem_mb": round(peak, 1),
            "anchor_s": round(anchor, 3), "speedup": round(anchor / seconds, 2), "anchor_source": source,
            "agreement": None if agree is None else round(agree, 4),
            "max_diff_official": max_difference(outputs.get("official"), outputs["ours"], spec["task"])}


def max_difference(official: Any, ours: torch.Tensor, task: str) -> float | None:
    """Largest absolute difference of two decoded waveforms (None without an official decode output)."""
    if task != "decode" or official is None:
        return None
    official = (official if torch.is_tensor(official) else torch.as_tensor(official)).float().reshape(-1)
    ours = ours.float().reshape(-1)
    if official.numel() != ours.numel():
        raise RuntimeError(f"official and our decode differ in length: {official.numel()} vs {ours.numel()} samples")
    return float((official - ours).abs().max())


def to_markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table with COLUMNS."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"
