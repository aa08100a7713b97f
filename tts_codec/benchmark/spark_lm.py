"""Spark LM decoding speed with random weights of the Qwen2.5-0.5B shape (vocab 166,000), and the clone pipeline.

One worker (`measure`) builds the LM once in one dtype and times, interleaved, each decoding path at each batch
size: `generate` = transformers `generate` with the official sampling settings (what the official code runs), `loop`
= our loop with no shortcut, `restricted` = our loop scoring only semantic rows + EOS, `restricted_static` = the
same with a static KV cache, `restricted_int8` = int8 weights for the steps (the prompt through the float body),
`restricted_int8_prefill` = int8 weights for the prompt too; all sample with the official settings. The prompt is
prompt B's size for a 10 s reference (`prompt_tokens`, ending with `<|start_semantic_token|>`); every run makes
exactly `new_tokens` tokens (EOS never drawn). Each token is time-stamped: tokens/s = batch * (tokens after the
first) / their time, and the prefill time is that of the first token (medians over runs; `best_tokens_per_s` is the
fastest run).
`roofline_pct` = tokens/s over what the weights read per step allow at `bandwidth` (performance.md: 13.5 GB/s);
`roofline_pct_here` the same at `measured_bandwidth`, a large fp32 matrix-vector product timed on this machine in
the same run (`tts_codec.benchmark.timing.matvec_bandwidth`; under load it is low too, so this ratio stays fair).
The clone pipeline RTF is composed from measured parts: BiCodec tokenize with SSL of the 10 s reference, the LM
prefill of prompt B, `speech_tokens` tokens at the path's batch-1 rate, and BiCodec decode of 10 s (`codec_times`;
shorter measurements are scaled linearly, see `add_clone_rtf`).
"""
from __future__ import annotations

import resource
import statistics
import time
from typing import Callable

import torch

from tts_codec.benchmark.timing import interleaved
from tts_codec.lm.spark.fast_decode import DecodeIds, FastDecodeConfig, FastDecoder
from tts_codec.lm.spark.model import OFFICIAL_VOCAB_SIZE, QWEN2_0_5B
from tts_codec.tts.generation import SamplingConfig

PATHS = ("generate", "loop", "restricted", "restricted_static", "restricted_int8", "restricted_int8_prefill")
#: int8 weights with float32 activations: timed in the float32 run only
FLOAT32_ONLY = ("restricted_int8", "restricted_int8_prefill")
#: Official-layout-like ids (what they are does not change the speed); EOS is an unused padding row whose head
#: weights are zeroed (logit 0, never among the top 50), so that a random model never stops early.
IDS = DecodeIds(eos_id=OFFICIAL_VOCAB_SIZE - 1, pad_id=151643, start_semantic_id=151670, semantic_start=155757,
                semantic_size=8192)
#: Official anchors (performance.md): batch-1 tokens/s per dtype, batch-4 total, clone RTF.
ANCHORS = {"float32": 5.9, "bfloat16": 9.0, "batch4_float32": 12.5, "clone_rtf": 9.5}
BANDWIDTH = 13.5e9
COLUMNS = ["path", "dtype", "batch", "tokens_per_s", "best_tokens_per_s", "x_generate", "prefill_s",
           "weights_mb_per_step", "roofline_tok_s", "roofline_pct", "roofline_pct_here", "clone_rtf", "peak_mem_mb"]


def build_random_lm(dtype: torch.dtype, seed: int = 0, layers: int | None = None) -> torch.nn.Module:
    """A randomly initialised Qwen2ForCausalLM of the official Spark shape, built directly in `dtype`."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    conf = dict(QWEN2_0_5B, num_hidden_layers=layers or QWEN2_0_5B["num_hidden_layers"])
    config = Qwen2Config(vocab_size=OFFICIAL_VOCAB_SIZE, bos_token_id=None, eos_token_id=IDS.eos_id,
                         pad_token_id=IDS.pad_id, use_sliding_window=False, **conf)
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        model = Qwen2ForCausalLM(config).eval()
    finally:
        torch.set_default_dtype(default)
    with torch.no_grad():
        model.get_output_embeddings().weight[IDS.eos_id].zero_()
    return model


def weights_read_per_step(model: torch.nn.Module, restricted: bool, int8: bool = False) -> int:
    """Bytes of weights one decode step reads: every matrix but the input embedding, plus the (restricted) head;
    with `int8` the 2-D weights of the body take one byte each (their per-row scales are negligible)."""
    head = model.get_output_embeddings().weight
    body = sum(p.numel() * (1 if int8 and p.dim() == 2 else p.element_size())
               for n, p in model.model.named_parameters() if "embed_tokens" not in n)
    rows = IDS.semantic_size + 1 if restricted else head.shape[0]
    return body + rows * head.shape[1] * head.element_size()


def prompts(batch: int, length: int, seed: int = 0) -> list[list[int]]:
    """`batch` random prompts of `length` ids (text/global/semantic-like), each ending with the semantic marker."""
    gen = torch.Generator().manual_seed(seed)
    body = torch.randint(IDS.semantic_start, IDS.semantic_start + IDS.semantic_size, (batch, length - 1), generator=gen)
    return [row.tolist() + [IDS.start_semantic_id] for row in body]


class StepClock:
    """perf_counter stamps of each run: its start, then one per generated token (a logits processor or hook)."""

    def __init__(self) -> None:
        self.runs: list[list[float]] = []

    def start(self) -> None:
        self.runs.append([time.perf_counter()])

    def __call__(self, input_ids=None, scores=None):
        self.runs[-1].append(time.perf_counter())
        return scores

    def summary(self, batch: int, runs: int) -> tuple[float, float, float]:
        """(median decode tokens/s after the first token, its best run, median prefill s) of the last `runs`."""
        stamps = self.runs[-runs:]
        rates = [batch * (len(t) - 2) / (t[-1] - t[1]) for t in stamps]
        return statistics.median(rates), max(rates), statistics.median(t[1] - t[0] for t in stamps)


def generate_call(model, batch_prompts: list[list[int]], tokens: int, clock: StepClock) -> Callable[[], int]:
    """transformers `generate` as the official code runs it (official sampling defaults), exactly `tokens` tokens."""
    from transformers import GenerationConfig, LogitsProcessorList

    from tts_codec.tts.generation import left_pad

    ids, mask = left_pad(batch_prompts, IDS.pad_id)
    config = GenerationConfig(do_sample=True, temperature=0.8, top_k=50, top_p=0.95, max_new_tokens=tokens,
                              min_new_tokens=tokens, eos_token_id=IDS.eos_id, pad_token_id=IDS.pad_id)

    def call() -> int:
        clock.start()
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                             logits_processor=LogitsProcessorList([clock]))
        return out.shape[1] - ids.shape[1]

    return call


def loop_call(decoder: FastDecoder, batch_prompts: list[list[int]], tokens: int,
              clock: StepClock) -> Callable[[], int]:
    """Our loop with the official sampling defaults, `tokens` tokens."""
    sampling = SamplingConfig(max_new_tokens=tokens)
    seeds = list(range(len(batch_prompts)))

    def call() -> int:
        clock.start()
        return min(len(ids) for ids, _ in decoder.generate(batch_prompts, seeds, sampling, on_token=clock))

    return call


def measure(spec: dict) -> list[dict]:
    """One dtype: every path x batch size, interleaved; returns table rows (see the module docstring)."""
    torch.set_num_threads(spec["threads"])
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[spec["dtype"]]
    model = build_random_lm(dtype, layers=spec.get("layers"))
    decoders = {"loop": FastDecoder(model, IDS, FastDecodeConfig(dtype=spec["dtype"])),
                "restricted": FastDecoder(model, IDS, FastDecodeConfig(restrict_head=True, dtype=spec["dtype"])),
                "restricted_static": FastDecoder(model, IDS, FastDecodeConfig(restrict_head=True, static_cache=True,
                                                                              dtype=spec["dtype"]))}
    paths = [p for p in spec["paths"] if spec["dtype"] == "float32" or p not in FLOAT32_ONLY]
    for path, int8_prefill in (("restricted_int8", False), ("restricted_int8_prefill", True)):
        if path in paths:
            decoders[path] = FastDecoder(model, IDS, FastDecodeConfig(restrict_head=True, int8_weights=True,
                                                                      int8_prefill=int8_prefill))
    rows = []
    for batch in spec["batch_sizes"]:
        batch_prompts, n = prompts(batch, spec["prompt_tokens"]), spec["new_tokens"]
        clocks = {path: StepClock() for path in paths}
        calls = {path: (generate_call(model, batch_prompts, n, clocks[path]) if path == "generate"
                        else loop_call(decoders[path], batch_prompts, n, clocks[path])) for path in paths}
        with torch.inference_mode():
            _, outputs = interleaved(calls, spec["runs"], spec["warmup"])
        rates = {}
        for path in paths:
            if outputs[path] != n:
                raise RuntimeError(f"{path} made {outputs[path]} tokens instead of {n}")
            rates[path] = clocks[path].summary(batch, spec["runs"])
        for path, (rate, best, prefill) in rates.items():
            step_bytes = weights_read_per_step(model, path.startswith("restricted"), int8="int8" in path)
            roofline = batch * spec["bandwidth"] / step_bytes
            base = rates.get("generate", (None,))[0]
            rows.append({"path": path, "dtype": spec["dtype"], "batch": batch, "tokens_per_s": round(rate, 2),
                         "best_tokens_per_s": round(best, 2), "x_generate": round(rate / base, 2) if base else None,
                         "prefill_s": round(prefill, 3), "weights_mb_per_step": round(step_bytes / 1e6, 1),
                         "roofline_tok_s": round(roofline, 1), "roofline_pct": round(100 * rate / roofline, 1),
                         "runs": spec["runs"], "new_tokens": n, "prompt_tokens": spec["prompt_tokens"]})
            if spec.get("measured_bandwidth"):
                here = batch * spec["measured_bandwidth"] / step_bytes
                rows[-1]["roofline_pct_here"] = round(100 * rate / here, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows:
        row["peak_mem_mb"] = round(peak, 1)
    return rows


def codec_times(spec: dict) -> dict:
    """Median seconds of BiCodec tokenize-with-SSL and decode (fast snake, fp32) of `seconds` of audio; the decode
    runs channels-last unless `spec["channels_last"]` is false (the pipeline's default, `SparkTTS.from_dirs`)."""
    from tts_codec.benchmark.bicodec import build_random, make_call
    from tts_codec.codecs.inference import prepare_for_inference

    torch.set_num_threads(spec["threads"])
    out = {"seconds": spec["seconds"]}
    for task in ("tokenize_ssl", "decode"):
        channels_last = task == "decode" and spec.get("channels_last", True)
        model = prepare_for_inference(build_random(spec["codec_config"], task), "cpu", fast=True,
                                      channels_last=channels_last)
        call = make_call(model, dict(task=task, batch=1, seconds=spec["seconds"], device="cpu"))
        with torch.inference_mode():
            timings, _ = interleaved({task: call}, spec["runs"], spec["warmup"])
        out[task] = timings[task].median
        del model
    out["peak_mem_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def add_clone_rtf(rows: list[dict], codec: dict, speech_tokens: int, seconds: float,
                  clone_prompt_tokens: int) -> None:
    """Batch-1 rows get the composed clone RTF: tokenize + prefill + speech tokens at their rate + decode.

    `codec` holds seconds for `codec["seconds"]` of audio, scaled linearly to `seconds` (the convolutions are linear
    in time); the measured prefill is scaled linearly from the row's prompt to `clone_prompt_tokens`.
    """
    scale = seconds / codec["seconds"]
    for row in rows:
        if row["batch"] == 1:
            prefill = row["prefill_s"] * clone_prompt_tokens / row["prompt_tokens"]
            total = (codec["tokenize_ssl"] + codec["decode"]) * scale + prefill + speech_tokens / row["tokens_per_s"]
            row["clone_rtf"] = round(total / seconds, 2)


def to_markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table with COLUMNS."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("" if r.get(c) is None else str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"
