"""Paired differences between systems scored on the same utterances.

Two systems' own 95% intervals overlap far more often than their difference is in doubt: what decides whether
system B beats system A on a test list is the per-utterance difference B - A. For each metric with a direction,
and each system after the first (the baseline), this gives the mean of B - A over the utterances both scored, with
the same percentile bootstrap as the score dirs' own intervals (over utterances in C order), and a verdict when the
interval leaves out zero.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

from tts_codec.eval.report import ScoreDir
from tts_codec.eval.scoring import mean_ci95


class PairedDifference(NamedTuple):
    """Mean of `system` - `baseline` in `metric` over the `n` utterances both scored, with its 95% interval."""

    metric: str
    higher_is_better: bool
    system: str
    baseline: str
    mean: float
    ci95: tuple[float, float]
    n: int

    @property
    def verdict(self) -> str:
        """"better" / "worse" when the interval leaves out zero (in the metric's direction), else "unresolved"."""
        lo, hi = self.ci95
        if lo > 0 or hi < 0:
            return "better" if (lo > 0) == self.higher_is_better else "worse"
        return "unresolved"


def paired_differences(systems: Sequence[ScoreDir]) -> list[PairedDifference]:
    """One entry per (per-utterance metric with a direction, system after the first) that share a scored
    utterance with the first system; metrics in the baseline's per_utt.tsv order."""
    if len(systems) < 2:
        return []
    baseline, out = systems[0], []
    for metric in baseline.per_utt_metrics:
        summary = baseline.summary.get(metric)
        if summary is None or summary.higher_is_better is None:
            continue
        for other in systems[1:]:
            utts = sorted(u for u, row in baseline.scores.items()
                          if row.get(metric) is not None and other.scores.get(u, {}).get(metric) is not None)
            if not utts:
                continue
            diffs = [other.scores[u][metric] - baseline.scores[u][metric] for u in utts]
            mean, (lo, hi) = mean_ci95(diffs)
            out.append(PairedDifference(metric, summary.higher_is_better, other.name, baseline.name, mean, (lo, hi),
                                        len(utts)))
    return out
