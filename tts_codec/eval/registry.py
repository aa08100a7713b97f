"""The one registry of scorers: metric name (as given to `--metrics`) -> Scorer class.

Each scorer writes one or more columns of per_utt.tsv (see its `columns`); `--metrics` names scorers, not columns.
"""
from __future__ import annotations

from tts_codec.errors import UserError
from tts_codec.eval.attributes import GenderScorer, PitchScorer, SpeedScorer
from tts_codec.eval.dnsmos import DnsmosScorer
from tts_codec.eval.intrusive import PesqScorer, StoiScorer
from tts_codec.eval.mel_distance import MelScorer
from tts_codec.eval.rtf import RtfScorer
from tts_codec.eval.scoring import EvalOptions, Scorer
from tts_codec.eval.speaker import SimOScorer, SimRScorer, SimScorer
from tts_codec.eval.wer import WerScorer

SCORERS: dict[str, type[Scorer]] = {
    "wer": WerScorer,  # wer, wer_en, cer (needs text + gen)
    "sim": SimScorer,  # gen vs ground truth of the same utterance (needs ref + gen)
    "sim_o": SimOScorer,  # gen vs original prompt (needs prompt + gen)
    "sim_r": SimRScorer,  # gen vs reconstructed prompt (needs prompt_recon + gen)
    "pesq": PesqScorer,  # pesq_wb, pesq_nb (needs ref + gen)
    "stoi": StoiScorer,  # stoi, estoi (needs ref + gen)
    "mel": MelScorer,  # L1 log-mel distance (needs ref + gen)
    "dnsmos": DnsmosScorer,  # dnsmos_ovrl/sig/bak/p808 (gen only)
    "pitch": PitchScorer,  # f0_hz, pitch_acc
    "speed": SpeedScorer,  # sps, speed_acc
    "gender": GenderScorer,  # gender_acc (F0 proxy)
    "rtf": RtfScorer,  # duration_s, rtf
}


def parse_metrics(spec: str) -> list[str]:
    """`"wer,sim,pesq"` -> ["wer", "sim", "pesq"]; UserError naming unknown metrics and the known ones."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCORERS]
    if unknown or not names:
        raise UserError(f"--metrics: unknown or empty {unknown or spec!r}; known metrics: {','.join(SCORERS)}")
    return list(dict.fromkeys(names))


def build_scorers(names: list[str], options: EvalOptions) -> list[Scorer]:
    """Instantiate the named scorers (models themselves load lazily on first use)."""
    return [SCORERS[name](options) for name in names]


def column_info(names: list[str]) -> dict[str, bool | None]:
    """Column -> higher_is_better over the named scorers, in registry column order."""
    info: dict[str, bool | None] = {}
    for name in names:
        info.update(SCORERS[name].columns)
    return info
