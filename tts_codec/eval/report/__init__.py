"""Reports of the evaluation suite: RESULTS.md tables and a static HTML listening page built from score dirs.

This module turns a score dir (read by tts_codec.eval.score_dir, the one reader) into a `ScoreDir`, the view the
renderers share:

    <score_dir>/per_utt.tsv      header `utt <metric>...`; an empty cell is a failed score
    <score_dir>/summary.json     {"metrics": {name: {mean, ci95, n, n_failed, higher_is_better}}, "models": ...}
    <score_dir>/failures.tsv     `utt metric reason`
    <score_dir>/hyp.txt, ref.txt raw ASR hypotheses and reference texts (Kaldi text; optional)
    <score_dir>/labels_<attr>.txt      `utt intended predicted` of classified attributes (optional)
    <score_dir>/confusion_<attr>.json  {"labels": [...], "matrix": [[...]], "accuracy": x} (optional)
Extra keys in summary.json are tolerated.
"""
from __future__ import annotations

import functools
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tts_codec.errors import UserError
from tts_codec.eval.score_dir import SUMMARY, Failure, read_labels, read_score_dir


REQUIRED_METRIC_KEYS = ("mean", "n", "n_failed", "higher_is_better")


class MetricSummary(NamedTuple):
    """One metric of summary.json; `mean` and `ci95` are None when nothing was scored.

    `higher_is_better` is None for descriptive columns (durations, F0); `corpus` is the corpus-level figure
    (errors summed over words summed) when the scorer gives one; `notes` holds e.g. an EER threshold or error.
    """

    mean: float | None
    ci95: tuple[float, float] | None
    n: int
    n_failed: int
    higher_is_better: bool | None
    corpus: float | None = None
    notes: dict[str, str] = {}


@dataclass
class Confusion:
    """A confusion matrix of a classified attribute (rows = reference label, columns = predicted label)."""

    labels: list[str]
    matrix: np.ndarray  # (L, L) counts
    accuracy: float | None


@dataclass
class ScoreDir:
    """Everything the reports need from one score dir."""

    name: str
    path: Path
    summary: dict[str, MetricSummary]  # summary.json order; may include corpus-level metrics not in per_utt
    per_utt_metrics: list[str]  # per_utt.tsv column order
    scores: dict[str, dict[str, float | None]]  # utt -> metric -> value (None = failed)
    models: dict[str, str] = field(default_factory=dict)
    protocol: str = ""
    ci_method: str = ""
    ref_dir: str | None = None
    gen_scp: str | None = None
    failures: list[Failure] = field(default_factory=list)
    hyp: dict[str, str] | None = None
    ref_text: dict[str, str] | None = None
    confusions: dict[str, Confusion] = field(default_factory=dict)
    labels: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # attr -> utt -> (intended, pred)

    def values(self, metric: str) -> np.ndarray:
        """The scored (non-failed) per-utterance values of `metric`, in utterance order; shape (n,)."""
        vals = [row.get(metric) for row in self.scores.values()]
        return np.array([v for v in vals if v is not None], dtype=np.float64)

    def failure_counts(self) -> Counter:
        """Counts of failures.tsv lines per (metric, reason)."""
        return Counter((f.metric, f.reason) for f in self.failures)

    def failure_reason(self, utt: str, metric: str) -> str | None:
        """The reason failures.tsv gives for (utt, metric), if any."""
        return self._failure_index.get((utt, metric))

    @functools.cached_property
    def _failure_index(self) -> dict[tuple[str, str], str]:
        return {(f.utt, f.metric): f.reason for f in reversed(self.failures)}  # the first line wins


def format_number(value: float | None) -> str:
    """Four significant digits in fixed notation (0.2345, 4.640, 650.0, 12345); "–" for None."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    decimals = max(0, 3 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def load_score_dir(path: str | os.PathLike, name: str | None = None) -> ScoreDir:
    """Read a score dir through the one reader (tts_codec.eval.score_dir); malformed files raise a UserError
    naming the file (and line). A non-finite per-utterance value shows as a failure of that cell.

    Args:
        path: the score dir.
        name: the system's display name (default: `<parent dir>/<dir>`, e.g. `decode_test/score`).
    """
    files = read_score_dir(path)
    path, summary = files.path, files.summary
    sdir = ScoreDir(
        name=name or "/".join(path.resolve().parts[-2:]),
        path=path,
        summary=_parse_summary(path / SUMMARY, summary),
        per_utt_metrics=files.per_utt.columns,
        scores=files.per_utt.rows,
        models={str(k): str(v) for k, v in (summary.get("models") or {}).items()},
        protocol=str(summary.get("protocol") or ""),
        ci_method=str(summary.get("ci95_method") or ""),
        ref_dir=summary.get("ref_dir"),
        gen_scp=summary.get("gen_scp"),
        failures=files.failures,
        hyp=files.side.get("hyp.txt"),
        ref_text=files.side.get("ref.txt"),
    )
    for labels_path in sorted(path.glob("labels_*.txt")):
        sdir.labels[labels_path.stem[len("labels_"):]] = read_labels(labels_path)
    for attr, data in files.confusions.items():
        sdir.confusions[attr] = _parse_confusion(path / f"confusion_{attr}.json", data)
    return sdir


def _parse_summary(path: Path, data: dict) -> dict[str, MetricSummary]:
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: missing the \"metrics\" object")
    out = {}
    for name, entry in metrics.items():
        missing = [k for k in REQUIRED_METRIC_KEYS if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise UserError(f"{path}: metric {name!r} lacks the key(s) {', '.join(missing)}")
        try:
            ci, hib, corpus = entry.get("ci95"), entry["higher_is_better"], entry.get("corpus")
            out[name] = MetricSummary(
                mean=None if entry["mean"] is None else float(entry["mean"]),
                ci95=None if ci is None or None in ci else (float(ci[0]), float(ci[1])),
                n=int(entry["n"]),
                n_failed=int(entry["n_failed"]),
                higher_is_better=None if hib is None else bool(hib),
                corpus=None if corpus is None else float(corpus),
                notes={k: _note(entry[k]) for k in ("threshold", "error") if entry.get(k) is not None},
            )
        except (TypeError, ValueError, IndexError) as err:
            raise UserError(f"{path}: metric {name!r} is malformed: {err}") from None
    return out


def _note(value: object) -> str:
    return format_number(float(value)) if isinstance(value, (int, float)) else str(value)


def _parse_confusion(path: Path, data: dict) -> Confusion:
    try:
        labels = [str(x) for x in data["labels"]]
        matrix = np.asarray(data["matrix"], dtype=np.float64)
        accuracy = data.get("accuracy")
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{path}: needs \"labels\" and a numeric \"matrix\": {err}") from None
    if matrix.shape != (len(labels), len(labels)):
        raise UserError(f"{path}: matrix shape {matrix.shape} does not match {len(labels)} labels")
    return Confusion(labels, matrix, None if accuracy is None else float(accuracy))
