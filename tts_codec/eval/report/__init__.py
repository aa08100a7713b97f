"""Reports of the evaluation suite: RESULTS.md tables and a static HTML listening page built from score dirs.

This module reads a score dir (the on-disk output of the scoring step) into a `ScoreDir`, which the renderers share:

    <score_dir>/per_utt.tsv      header `utt <metric>...`; an empty cell is a failed score
    <score_dir>/summary.json     {"metrics": {name: {mean, ci95, n, n_failed, higher_is_better}}, "models": ...}
    <score_dir>/failures.tsv     `utt metric reason`
    <score_dir>/hyp.txt, ref.txt raw ASR hypotheses and reference texts (Kaldi text; optional)
    <score_dir>/labels_<attr>.txt      `utt intended predicted` of classified attributes (optional)
    <score_dir>/confusion_<attr>.json  {"labels": [...], "matrix": [[...]], "accuracy": x} (optional)
The writer is tts_codec.eval.score_dir; this reader only needs the files and tolerates extra keys.
"""
from __future__ import annotations

import functools
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tts_codec.data.table import read_table
from tts_codec.errors import UserError


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


class Failure(NamedTuple):
    """One line of failures.tsv."""

    utt: str
    metric: str
    reason: str


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
    """Read a score dir; every malformed file raises a UserError naming the file (and line).

    Args:
        path: the score dir.
        name: the system's display name (default: `<parent dir>/<dir>`, e.g. `decode_test/score`).
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"score dir {path}: no such directory")
    summary_json = _read_json(path / "summary.json")
    metrics, per_utt = _read_per_utt(path / "per_utt.tsv")
    sdir = ScoreDir(
        name=name or "/".join(path.resolve().parts[-2:]),
        path=path,
        summary=_parse_summary(path / "summary.json", summary_json),
        per_utt_metrics=metrics,
        scores=per_utt,
        models={str(k): str(v) for k, v in (summary_json.get("models") or {}).items()},
        protocol=str(summary_json.get("protocol") or ""),
        ci_method=str(summary_json.get("ci95_method") or ""),
        ref_dir=summary_json.get("ref_dir"),
        gen_scp=summary_json.get("gen_scp"),
        failures=_read_failures(path / "failures.tsv"),
    )
    if (path / "hyp.txt").is_file():
        sdir.hyp = read_table(path / "hyp.txt", allow_empty_value=True)
    if (path / "ref.txt").is_file():
        sdir.ref_text = read_table(path / "ref.txt", allow_empty_value=True)
    for labels_path in sorted(path.glob("labels_*.txt")):
        attr = labels_path.stem[len("labels_"):]
        sdir.labels[attr] = _read_labels(labels_path)
    for conf_path in sorted(path.glob("confusion_*.json")):
        attr = conf_path.stem[len("confusion_"):]
        sdir.confusions[attr] = _parse_confusion(conf_path, _read_json(conf_path))
    return sdir


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object at the top level")
    return data


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


def _read_per_utt(path: Path) -> tuple[list[str], dict[str, dict[str, float | None]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: invalid UTF-8: {err}") from None
    if not lines or lines[0].split("\t")[0] != "utt":
        raise UserError(f"{path}:1: the header must start with the column 'utt'")
    metrics = lines[0].split("\t")[1:]
    scores: dict[str, dict[str, float | None]] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(metrics) + 1:
            raise UserError(f"{path}:{lineno}: {len(cells)} columns, the header has {len(metrics) + 1}")
        utt = cells[0]
        if not utt or utt in scores:
            raise UserError(f"{path}:{lineno}: empty or duplicate utterance id {utt!r}")
        try:
            scores[utt] = {m: (float(c) if c.strip() else None) for m, c in zip(metrics, cells[1:])}
        except ValueError as err:
            raise UserError(f"{path}:{lineno}: {err}") from None
    return metrics, scores


def _read_failures(path: Path) -> list[Failure]:
    """Read failures.tsv (tab-separated, or whitespace when there are no tabs); a missing file means no failures."""
    if not path.is_file():
        return []
    failures = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or (lineno == 1 and line.split()[:2] == ["utt", "metric"]):
            continue
        parts = line.split("\t", 2) if "\t" in line else line.split(maxsplit=2)
        if len(parts) < 2:
            raise UserError(f"{path}:{lineno}: expected `utt metric reason`")
        failures.append(Failure(parts[0], parts[1], parts[2].strip() if len(parts) > 2 else "unknown"))
    return failures


def _read_labels(path: Path) -> dict[str, tuple[str, str]]:
    labels = {}
    for utt, value in read_table(path).items():
        fields = value.split()
        if len(fields) != 2:
            raise UserError(f"{path}: {utt}: expected `utt intended predicted`, got {value!r}")
        labels[utt] = (fields[0], fields[1])
    return labels


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
