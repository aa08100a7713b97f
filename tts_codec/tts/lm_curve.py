"""LM learning curves: clone a fixed list with every saved checkpoint of an LM run, score WER and SIM-o.

A run dir is what `tts_codec.bin.train_lm` writes (`config.yaml`, `checkpoints/batchNNNNNNNN.ckpt`); its config's
`lm:` names the family: `spark` (this module) or `mars6` (`tts_codec.tts.mars6_curve`). A checkpoint's minutes are
its file time minus the config's, as for the codec curves (`tts_codec.eval.learning_curve`, whose table and plot
this reuses). Each checkpoint is exported to the model dir its family's stage-10 decoder loads (Spark: `LLM/`,
MARS6: `model/`), speaks the clone list with that decoder and its sampling, and is scored into
`<out_dir>/<checkpoint>/` once (reruns skip finished ones).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts_codec.errors import UserError
from tts_codec.eval.learning_curve import cached_point, score_audio
from tts_codec.tts.generation import SamplingConfig

#: what a point of an LM curve holds (curve.tsv columns after checkpoint, batches and minutes)
LM_CURVE_METRICS = ("wer", "sim_o")
LM_CURVE_COLUMNS = ("wer", "sim_o", "text_gain", "own_text_loss", "refused")
#: the `lm:` of the train_lm configs whose runs get curves
LM_FAMILIES = ("spark", "mars6")


def run_family(run_dir: str | Path) -> str:
    """The LM family of a train_lm run dir: the `lm:` of its config.yaml (one of `LM_FAMILIES`)."""
    from tts_codec.config import load_config

    path = Path(run_dir) / "config.yaml"
    family = load_config(path).get("lm")
    if family not in LM_FAMILIES:
        raise UserError(f"{path}: lm: {family!r} is not an LM family of the learning curves ({list(LM_FAMILIES)}); "
                        "is it a train_lm output dir?")
    return family


def checkpoint_state(ckpt: str | Path, family: str, mmap: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, training config) of a train_lm checkpoint of `family`; a checkpoint of another family or of no LM
    run is refused by name. `mmap`: map the tensors instead of reading them (a cheap check of many files)."""
    import pickle

    try:
        try:
            state = torch.load(ckpt, map_location="cpu", weights_only=False, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            state = torch.load(ckpt, map_location="cpu", weights_only=False)  # a file of the old format: read it
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as err:
        raise UserError(f"{ckpt}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    config = (state.get("hyper_parameters") or {}).get("config") if isinstance(state, dict) else None
    lm = (config or {}).get("lm")
    if lm != family or "state_dict" not in state:
        raise UserError(f"{ckpt}: not a checkpoint of a {family} LM run (hyper_parameters.config.lm is {lm!r})")
    return state, config


def export_checkpoint_lm(ckpt: str | Path, llm_dir: Path) -> None:
    """Write the LM of a Spark LM training checkpoint as an `LLM/` dir (weights under `lm.` in its state dict)."""
    from tts_codec.lm.spark.model import build_lm, export_llm_dir
    from tts_codec.train.lm.spark_task import spark_vocab_of, tokenizer_dir_of

    state, config = checkpoint_state(ckpt, "spark")
    lm = build_lm(config, spark_vocab_of(config))
    lm.load_state_dict({k[len("lm."):]: v for k, v in state["state_dict"].items() if k.startswith("lm.")})
    export_llm_dir(lm, tokenizer_dir_of(config), llm_dir, overwrite=True)


def text_gain(entries: Sequence[Any], loss: Callable[[Any, str], float]) -> dict[str, float]:
    """`own_text_loss`: the mean over list `entries` of `loss(entry, its own transcript)`; `text_gain`: how much
    higher the mean is with the next entry's transcript instead (the last entry takes the first's). Empty for a
    list of fewer than 2 entries."""
    if len(entries) < 2:
        return {}
    losses: dict[str, list[float]] = {"own": [], "other": []}
    with torch.inference_mode():
        for i, entry in enumerate(entries):
            for kind, text in (("own", entry.infer_text), ("other", entries[(i + 1) % len(entries)].infer_text)):
                losses[kind].append(loss(entry, text))
    own, other = float(np.mean(losses["own"])), float(np.mean(losses["other"]))
    return {"own_text_loss": own, "text_gain": other - own}


def text_reliance(lm: torch.nn.Module, vocab: Any, entries: Sequence[Any], tokens: Mapping[str, dict]) -> dict:
    """How much the LM reads the text, teacher-forced: the mean cross-entropy (nats per semantic token) of each
    list target's semantic tokens after prompt A with its own transcript and global tokens (`own_text_loss`), and
    how much higher it is with the next target's transcript instead (`text_gain`). A loss can fall while the LM
    only continues the audio from its own past; a text_gain near 0 shows that, before any decoding does."""
    from tts_codec.lm.spark import prompts as P

    def loss(entry: Any, text: str) -> float:
        codes = tokens[entry.utt]
        semantic, globals_ = codes["semantic"].reshape(-1), codes["global"].reshape(-1)
        target = P.encode(P.tts_target(semantic), vocab)
        prompt = P.encode(P.tts_prompt(text, globals_), vocab)
        ids = torch.tensor([prompt + target])
        logits = lm(ids).logits[0, len(prompt) - 1:-1].float()
        # the target starts with <|start_semantic_token|>: score the semantic tokens after it
        ce = torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):], reduction="none")
        return float(ce[1:1 + len(semantic)].mean())

    return text_gain(entries, loss)


def score_clones(meta_lst: str | Path, gen_scp: Path, out_dir: Path, asr_beam_size: int) -> dict[str, float]:
    """WER (against the list's target text) and SIM-o (against its prompt) of `gen_scp`; returns the means."""
    return score_audio(None, gen_scp, out_dir, asr_beam_size, LM_CURVE_METRICS, meta_lst,
                       "LM learning curve, zero-shot clone")


def score_point(out_dir: Path, meta_lst: str | Path, asr_beam_size: int,
                speak: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """One curve point into `out_dir` (skipped when its `curve_point.json` exists): `speak(dir)` exports a
    checkpoint and clones the list into `<dir>/decode/wav/` (wav.scp) and returns its own figures; the clones are
    scored (`score_clones`) beside them."""

    def make(new: Path) -> dict[str, Any]:
        extra = speak(new)
        figures: dict[str, Any] = score_clones(meta_lst, new / "decode" / "wav" / "wav.scp", new / "scores",
                                               asr_beam_size)
        return {**figures, **extra}

    return cached_point(out_dir, [str(meta_lst)], make, "decode/wav/wav.scp")


def score_lm_checkpoint(ckpt: Path, codec_dir: str | Path, meta_lst: str | Path, out_dir: Path,
                        asr_beam_size: int = 5, sampling: SamplingConfig | None = None,
                        tokens: Mapping[str, dict] | None = None) -> dict[str, Any]:
    """Export, clone and score one Spark LM checkpoint into `out_dir` (`score_point`); with the list targets'
    codec `tokens`, also its `text_reliance`."""
    from tts_codec.tts.decode_list import DecodeJob, decode_part, list_utterances
    from tts_codec.tts.spark import SparkTTS

    def speak(new: Path) -> dict[str, Any]:
        export_checkpoint_lm(ckpt, new / "LLM")
        job = DecodeJob("clone", new / "decode", meta_lst=str(meta_lst))
        tts = SparkTTS.from_dirs(codec_dir, new / "LLM")
        figures: dict[str, Any] = {"refused": decode_part(tts, job, list_utterances(job), sampling or SamplingConfig(),
                                                          {"codec_dir": str(codec_dir)})}
        if tokens is not None:  # the LM the clones came from, already loaded
            from tts_codec.eval.protocols import read_meta_lst

            figures.update(text_reliance(tts.lm, tts.vocab, read_meta_lst(meta_lst), tokens))
        return figures

    return score_point(out_dir, meta_lst, asr_beam_size, speak)
