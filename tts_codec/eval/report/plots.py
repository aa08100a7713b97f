"""Figures for the listening page: per-utterance metric distributions and confusion matrices.

Matplotlib's object API (Figure, rendered by Agg on savefig) is used instead of pyplot, so no global backend
or figure state is touched.
"""
from __future__ import annotations

import os
from typing import Mapping

import numpy as np
from matplotlib.figure import Figure

from tts_codec.atomic import atomic_path
from tts_codec.eval.report import Confusion

DPI = 90


def plot_distribution(
    values: Mapping[str, np.ndarray], metric: str, higher_is_better: bool | None, path: str | os.PathLike
) -> None:
    """Histogram (one outline per system) and box plot of one per-utterance metric.

    Args:
        values: system name -> scored values, shape (n,) each (systems with no values are left out).
        metric: the metric name for titles.
        higher_is_better: shown in the title as an arrow (none for a descriptive column).
        path: the PNG to write.
    """
    values = {name: np.asarray(v, dtype=np.float64) for name, v in values.items() if len(v)}
    fig = Figure(figsize=(7.0, 2.6), dpi=DPI, layout="constrained")
    hist_ax, box_ax = fig.subplots(1, 2, width_ratios=(3, 2))
    arrow = {True: " ↑", False: " ↓", None: ""}[higher_is_better]
    if values:
        everything = np.concatenate(list(values.values()))
        bins = np.histogram_bin_edges(everything, bins=min(30, max(5, len(everything) // 3)))
        for name, vals in values.items():
            hist_ax.hist(vals, bins=bins, histtype="step", linewidth=1.5, label=f"{name} (n={len(vals)})")
        hist_ax.legend(fontsize=8)
        box_ax.boxplot(list(values.values()), orientation="horizontal", tick_labels=list(values.keys()))
    else:
        hist_ax.text(0.5, 0.5, "no scored utterances", ha="center", va="center", transform=hist_ax.transAxes)
    hist_ax.set_title(f"{metric}{arrow}: histogram", fontsize=10)
    hist_ax.set_ylabel("utterances")
    box_ax.set_title(f"{metric}{arrow}: box plot", fontsize=10)
    _save(fig, path)


def plot_confusion(confusion: Confusion, title: str, path: str | os.PathLike) -> None:
    """Confusion matrix coloured by row-normalised rate (rows = intended label) and annotated with counts."""
    n = len(confusion.labels)
    size = 1.8 + 0.45 * n
    fig = Figure(figsize=(size + 1.0, size), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    counts = confusion.matrix
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{counts[i, j]:g}", ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), confusion.labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), confusion.labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("intended")
    accuracy = "" if confusion.accuracy is None else f" (accuracy {confusion.accuracy:.3f})"
    ax.set_title(f"{title}{accuracy}", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.05, label="row rate")
    _save(fig, path)


def _save(fig: Figure, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
