"""Spark LM learning curves: clone a fixed list with every saved checkpoint of an LM run, score WER and SIM-o.

A run dir is what `tts_codec.bin.train_lm` writes (`config.yaml`, `checkpoints/batchNNNNNNNN.ckpt`); a
checkpoint's minutes are its file time minus the config's, as for the codec curves
(`tts_codec.eval.learning_curve`, whose table and plot this reuses). Each checkpoint is exported to an `LLM/` dir,
speaks the clone list with the stage-10 decoder and sampling, and is scored into `<out_dir>/<checkpoint>/` once
(reruns skip finished ones).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts_codec.atomic import replace_dir
from tts_codec.errors import UserError
from tts_codec.eval.learning_curve import repoint_scp, score_audio
from tts_codec.tts.generation import SamplingConfig

#: what a point of an LM curve holds (curve.tsv columns after checkpoint, batches and minutes)
LM_CURVE_METRICS = ("wer", "sim_o")
LM_CURVE_COLUMNS = ("wer", "sim_o", "text_gain", "own_text_loss", "refused")


def export_checkpoint_lm(ckpt: str | Path, llm_dir: Path) -> None:
    """Write the LM of a Spark LM training checkpoint as an `LLM/` dir (weights under `lm.` in its state dict)."""
    from tts_codec.lm.spark.model import build_lm, export_llm_dir
    from tts_codec.train.lm.spark_task import spark_vocab_of, tokenizer_dir_of

    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    config = state.get("hyper_parameters", {}).get("config")
    if not config or config.get("lm") != "spark":
        raise UserError(f"{ckpt}: not a checkpoint of a Spark LM run (hyper_parameters.config.lm is not spark)")
    lm = build_lm(config, spark_vocab_of(config))
    lm.load_state_dict({k[len("lm."):]: v for k, v in state["state_dict"].items() if k.startswith("lm.")})
    export_llm_dir(lm, tokenizer_dir_of(config), llm_dir, overwrite=True)


def text_reliance(lm: torch.nn.Module, vocab: Any, entries: Sequence[Any], tokens: Mapping[str, dict]) -> dict:
    """How much the LM reads the text, teacher-forced: the mean cross-entropy (nats per semantic token) of each
    list target's semantic tokens after prompt A with its own transcript and global tokens (`own_text_loss`), and
    how much higher it is with the next target's transcript instead (`text_gain`). A loss can fall while the LM
    only continues the audio from its own past; a text_gain near 0 shows that, before any decoding does."""
    from tts_codec.lm.spark import prompts as P

    if len(entries) < 2:
        return {}
    losses = {"own": [], "other": []}
    with torch.inference_mode():
        for i, entry in enumerate(entries):
            codes = tokens[entry.utt]
            semantic, globals_ = codes["semantic"].reshape(-1), codes["global"].reshape(-1)
            target = P.encode(P.tts_target(semantic), vocab)
            for kind, text in (("own", entry.infer_text), ("other", entries[(i + 1) % len(entries)].infer_text)):
                prompt = P.encode(P.tts_prompt(text, globals_), vocab)
                ids = torch.tensor([prompt + target])
                logits = lm(ids).logits[0, len(prompt) - 1:-1].float()
                # the target starts with <|start_semantic_token|>: score the semantic tokens after it
                ce = torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):], reduction="none")
                losses[kind].append(float(ce[1:1 + len(semantic)].mean()))
    own, other = float(np.mean(losses["own"])), float(np.mean(losses["other"]))
    return {"own_text_loss": own, "text_gain": other - own}


def score_clones(meta_lst: str | Path, gen_scp: Path, out_dir: Path, asr_beam_size: int) -> dict[str, float]:
    """WER (against the list's target text) and SIM-o (against its prompt) of `gen_scp`; returns the means."""
    return score_audio(None, gen_scp, out_dir, asr_beam_size, LM_CURVE_METRICS, meta_lst,
                       "LM learning curve, zero-shot clone")


def score_lm_checkpoint(ckpt: Path, codec_dir: str | Path, meta_lst: str | Path, out_dir: Path,
                        asr_beam_size: int = 5, sampling: SamplingConfig | None = None,
                        tokens: Mapping[str, dict] | None = None) -> dict[str, Any]:
    """Export, clone and score one checkpoint into `out_dir` (skipped when its `curve_point.json` exists); with the
    list targets' codec `tokens`, also its `text_reliance`."""
    from tts_codec.tts.decode_list import DecodeJob, decode_part, list_utterances
    from tts_codec.tts.spark import SparkTTS

    done = out_dir / "curve_point.json"
    if done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    with replace_dir(out_dir, [str(meta_lst)], True, "--out_dir") as new:
        new = Path(new)
        export_checkpoint_lm(ckpt, new / "LLM")
        job = DecodeJob("clone", new / "decode", meta_lst=str(meta_lst))
        entries = list_utterances(job)
        tts = SparkTTS.from_dirs(codec_dir, new / "LLM")
        refused = decode_part(tts, job, entries, sampling or SamplingConfig(), {"codec_dir": str(codec_dir)})
        figures: dict[str, Any] = score_clones(meta_lst, new / "decode" / "wav" / "wav.scp", new / "scores",
                                               asr_beam_size)
        figures["refused"] = refused
        if tokens is not None:  # the LM the clones came from, already loaded
            from tts_codec.eval.protocols import read_meta_lst

            figures.update(text_reliance(tts.lm, tts.vocab, read_meta_lst(meta_lst), tokens))
        (new / "curve_point.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    repoint_scp(out_dir / "decode" / "wav" / "wav.scp")
    return figures
