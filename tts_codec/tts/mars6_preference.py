"""Preference pairs for MARS6 ORPO (stage 9, mars6_snac.md §7): per prompt of a meta.lst, sample N candidates with
different seeds (shallow clone, one chunk), score each with the evaluation suite (WER of offline Whisper against
the text, speaker similarity to the prompt), and keep the best as chosen and the worst as rejected. Ranking: lower
WER first, then higher SIM. Prompts whose best and worst tie are skipped.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from tts_codec.atomic import atomic_path
from tts_codec.data.dsp import prepare_audio
from tts_codec.errors import UserError
from tts_codec.eval.protocols import read_meta_lst
from tts_codec.lm.mars6.examples import Mars6Example
from tts_codec.lm.mars6.patches import group_patches, split_patches
from tts_codec.tts.mars6 import Mars6TTS

log = logging.getLogger(__name__)


class Scored(NamedTuple):
    patches: np.ndarray  # (S, P) without EOS
    wer: float
    sim: float

    @property
    def rank(self) -> tuple[float, float]:
        return self.wer, -self.sim


class CandidateScorer:
    """WER (faster-whisper, offline) and SIM (the TTS's speaker embedder) of one candidate."""

    def __init__(self, asr_model_dir: str | None = None):
        from tts_codec.eval.asr import WhisperAsr

        self.asr = WhisperAsr(asr_model_dir, beam_size=1)

    def score(self, tts: Mars6TTS, wav: np.ndarray, text: str, speaker: np.ndarray) -> tuple[float, float]:
        from tts_codec.eval.asr import ASR_SR
        from tts_codec.eval.wer import text_error_rates

        if wav.size == 0:
            return 1.0, 0.0
        hyp = self.asr.transcribe(prepare_audio(wav, tts.sample_rate, ASR_SR, volume_normalize=False))
        wer = float(text_error_rates(text, hyp)["wer"])
        try:
            sim = float(np.dot(tts.embedder.embed(wav, tts.sample_rate), speaker))
        except Exception as err:  # noqa: BLE001  (a candidate the speaker model cannot embed scores worst)
            log.warning("SIM failed (%s): scored 0", err)
            sim = 0.0
        return wer, sim


def build_pairs(tts: Mars6TTS, meta_lst: str | Path, num_candidates: int, scorer: CandidateScorer,
                seed: int = 0) -> list[tuple[Mars6Example, Mars6Example]]:
    """(chosen, rejected) examples per prompt of `meta_lst`."""
    if num_candidates < 2:
        raise UserError(f"--num_candidates {num_candidates}: at least 2 candidates are needed for a pair")
    cfg, pairs = tts.model.cfg, []
    tts.options = dataclasses.replace(tts.options, deep_clone_mode="none", max_chars=0, max_attempts=1)
    for entry in read_meta_lst(meta_lst, strict=True):
        reference = tts.reference_from_file(entry.prompt_wav)
        scored = []
        for k in range(num_candidates):
            tts.options = dataclasses.replace(tts.options, seed=seed * 1000 + k)
            result = tts.synthesize(entry.infer_text, reference)
            scored.append(Scored(result.patches[0], *scorer.score(tts, result.wav, entry.infer_text,
                                                                  reference.speaker)))
        scored.sort(key=lambda s: s.rank)
        best, worst = scored[0], scored[-1]
        log.info("%s: WER %.2f..%.2f, SIM %.2f..%.2f", entry.utt, best.wer, worst.wer, best.sim, worst.sim)
        if best.rank == worst.rank or not len(best.patches) or not len(worst.patches):
            continue
        text = np.asarray(tts.text.encode(entry.infer_text, tts.options.quality))
        pairs.append(tuple(Mars6Example(text, _with_eos(s.patches, cfg), reference.speaker) for s in (best, worst)))
    return pairs


def _with_eos(patches: np.ndarray, cfg) -> np.ndarray:
    return group_patches(split_patches(patches, cfg.levels, cfg.codebook_size), cfg.levels, cfg.codebook_size)


def save_pairs(pairs: list[tuple[Mars6Example, Mars6Example]], path: str | Path) -> None:
    """Write the pairs (torch.save of plain arrays) atomically."""
    data = [{"chosen": c._asdict(), "rejected": r._asdict()} for c, r in pairs]
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def load_pairs(path: str | Path) -> list[tuple[Mars6Example, Mars6Example]]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no preference pairs file (stage 9 writes pairs.pt)")
    try:
        data = torch.load(path, weights_only=False)
        return [(Mars6Example(**d["chosen"]), Mars6Example(**d["rejected"])) for d in data]
    except (RuntimeError, KeyError, TypeError, EOFError) as err:
        raise UserError(f"{path}: not a preference pairs file ({type(err).__name__})") from None
