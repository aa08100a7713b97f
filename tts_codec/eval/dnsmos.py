"""Non-intrusive MOS: DNSMOS P.835 (SIG/BAK/OVRL) and P.808 from the ONNX models in the speechmos wheel.

DNSMOS stands in for UTMOS, which has no offline weights (evaluation.md §1, §7): its numbers are a proxy. Input is
16 kHz and clipped to [-1, 1] (speechmos refuses anything outside); clips shorter than 9.01 s are looped inside.
"""
from __future__ import annotations

import functools
import os
from importlib import metadata

import numpy as np

from tts_codec.eval.scoring import EvalItem, Scorer, UttResult

DNSMOS_SR = 16000


@functools.lru_cache(maxsize=1)
def _dnsmos():
    from speechmos import dnsmos

    models = os.path.join(os.path.dirname(dnsmos.__file__), "dnsmos_models")
    return dnsmos.DNSMOS(os.path.join(models, "sig_bak_ovr.onnx"), os.path.join(models, "model_v8.onnx"))


def dnsmos_scores(wav: np.ndarray) -> dict[str, float]:
    """DNSMOS of one 16 kHz utterance: {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"}."""
    out = _dnsmos()(np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0), DNSMOS_SR, False)
    return {f"dnsmos_{k}": float(out[f"{k}_mos"]) for k in ("ovrl", "sig", "bak", "p808")}


class DnsmosScorer(Scorer):
    """`dnsmos_ovrl` (headline), `dnsmos_sig`, `dnsmos_bak`, `dnsmos_p808` of the generated audio."""

    name = "dnsmos"
    columns = {"dnsmos_ovrl": True, "dnsmos_sig": True, "dnsmos_bak": True, "dnsmos_p808": True}

    def model_version(self) -> str:
        return f"speechmos {metadata.version('speechmos')} DNSMOS P.835 sig_bak_ovr.onnx + P.808 model_v8.onnx (proxy for UTMOS)"

    def score_one(self, item: EvalItem) -> UttResult:
        return UttResult(values=dnsmos_scores(item.audio("gen", DNSMOS_SR)))
