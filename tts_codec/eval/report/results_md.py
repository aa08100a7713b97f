"""RESULTS.md of an experiment: header, one table of every metric for one or more systems, the paired differences
to the first system, models, failures.

The same `summary_rows` feed the HTML page's summary table, so both show identical numbers.
"""
from __future__ import annotations

import datetime
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tts_codec.eval.report import ScoreDir, format_number
from tts_codec.eval.report.paired import paired_differences

ARROWS = {True: "↑", False: "↓", None: ""}
SYSTEM_COLUMNS = ("mean", "95% CI", "n", "failed")


@dataclass
class SummaryRow:
    """One metric across systems: `cells[i]` holds system i's (mean, CI, n, failed) strings."""

    metric: str
    arrow: str  # "↑" higher is better, "↓" lower is better, "" descriptive
    cells: list[tuple[str, str, str, str]]
    best: list[bool]  # system i has the best mean (only marked when several systems have one)


def summary_rows(systems: Sequence[ScoreDir]) -> list[SummaryRow]:
    """Rows for every metric of any system, in first-seen summary.json order; a metric with a corpus-level
    figure (e.g. WER as errors over all words) gets a second row `<metric> (corpus)`."""
    metrics: dict[str, bool | None] = {}
    for sdir in systems:
        for name, summ in sdir.summary.items():
            metrics.setdefault(name, summ.higher_is_better)
    rows = []
    for name, higher in metrics.items():
        summs = [sdir.summary.get(name) for sdir in systems]
        rows.append(_row(name, higher, [(s.mean, s.ci95, s.n, s.n_failed) if s else None for s in summs]))
        if any(s is not None and s.corpus is not None for s in summs):
            figures = [(s.corpus, None, s.n, s.n_failed) if s and s.corpus is not None else None for s in summs]
            rows.append(_row(f"{name} (corpus)", higher, figures))
    return rows


def _row(name: str, higher: bool | None, figures: list[tuple | None]) -> SummaryRow:
    """One table row from per-system (mean, ci95, n, n_failed) tuples (None = the system lacks the metric)."""
    cells, means = [], []
    for fig in figures:
        if fig is None:
            cells.append(("–", "–", "–", "–"))
            means.append(None)
            continue
        mean, ci, n, n_failed = fig
        ci_text = "–" if ci is None else f"[{format_number(ci[0])}, {format_number(ci[1])}]"
        cells.append((format_number(mean), ci_text, str(n), str(n_failed)))
        means.append(mean)
    scored = [m for m in means if m is not None]
    target = (max if higher else min)(scored) if len(scored) > 1 and higher is not None else None
    return SummaryRow(name, ARROWS[higher], cells, [m is not None and m == target for m in means])


def git_commit(cwd: str | Path = ".") -> str | None:
    """`git describe --always --dirty` of the repository around `cwd`, or None outside git / before a commit."""
    try:
        proc = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=cwd, capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def render_results_md(
    systems: Sequence[ScoreDir],
    title: str,
    html_link: str | None = "html/index.html",
    date: str | None = None,
    commit: str | None = None,
) -> str:
    """Render RESULTS.md as a string.

    Args:
        systems: one ScoreDir per compared system (names label the table columns).
        title: the experiment name for the header.
        html_link: relative link to the listening page, or None if there is none.
        date: ISO date-time for the header (default: now, UTC).
        commit: git commit of the code (None shows "unavailable").
    """
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# {title}", "", f"- date: {date}", f"- git commit: {commit or 'unavailable'}"]
    for sdir in systems:
        prefix = f"{sdir.name}: " if len(systems) > 1 else ""
        out.append(f"- {prefix}protocol: {sdir.protocol or 'unspecified'}; score dir `{sdir.path}`"
                   + (f"; generated `{sdir.gen_scp}`" if sdir.gen_scp else "")
                   + (f"; reference `{sdir.ref_dir}`" if sdir.ref_dir else ""))
    if html_link:
        out.append(f"- listening page: [{html_link}]({html_link})")
    out += ["", "## Metrics", "", *_metrics_table(systems), "", table_legend(systems)]
    notes = metric_notes(systems)
    out += [""] + [f"- {note}" for note in notes] if notes else []
    paired = _paired_section(systems)
    out += ["", f"## Paired differences against {systems[0].name}", "", *paired] if paired else []
    out += ["", "## Models", "", *_models_section(systems)]
    out += ["", "## Failures", "", *_failures_section(systems)]
    return "\n".join(out) + "\n"


def table_legend(systems: Sequence[ScoreDir]) -> str:
    """The sentence under the metrics table: arrows, how the CI was computed, what n counts."""
    ci_methods = sorted({s.ci_method for s in systems if s.ci_method}) or ["as given in summary.json"]
    return ("↑ higher is better, ↓ lower is better, no arrow: descriptive; "
            f"95% CI: {'; '.join(ci_methods)}; n = utterances (eer: trials) scored, failed = without a score.")


def metric_notes(systems: Sequence[ScoreDir]) -> list[str]:
    """Extra facts of summary.json metrics, e.g. `eer threshold: 0.7408` (prefixed by the system when several)."""
    return [f"{sdir.name + ': ' if len(systems) > 1 else ''}{metric} {key}: {value}"
            for sdir in systems for metric, summ in sdir.summary.items() for key, value in summ.notes.items()]


def _metrics_table(systems: Sequence[ScoreDir]) -> list[str]:
    multi = len(systems) > 1
    header = ["metric", ""]
    for sdir in systems:
        header += [f"{sdir.name} {col}" if multi else col for col in SYSTEM_COLUMNS]
    lines = [md_row(header), md_row(["---", ":-:"] + ["---:"] * (len(header) - 2))]
    for row in summary_rows(systems):
        cells = [row.metric, row.arrow]
        for (mean, ci, n, failed), best in zip(row.cells, row.best):
            cells += [f"**{mean}**" if best else mean, ci, n, failed]
        lines.append(md_row(cells))
    return lines


def _paired_section(systems: Sequence[ScoreDir]) -> list[str]:
    """The table of per-utterance differences to the first system (several systems only), with its legend."""
    diffs = paired_differences(systems)
    if not diffs:
        return []
    lines = [md_row(["metric", "", "system", "mean difference", "95% CI", "n", "verdict"]),
             md_row(["---", ":-:", "---", "---:", "---:", "---:", "---"])]
    for d in diffs:
        ci = f"[{format_number(d.ci95[0])}, {format_number(d.ci95[1])}]"
        lines.append(md_row([d.metric, ARROWS[d.higher_is_better], d.system, format_number(d.mean), ci, str(d.n),
                             d.verdict]))
    return lines + ["", paired_legend(systems[0].name)]


def paired_legend(baseline: str) -> str:
    """The sentence under the paired-differences table (RESULTS.md and the HTML page)."""
    return (f"Difference = system - {baseline}, per utterance, over the n utterances both scored; 95% CI: percentile "
            "bootstrap of the mean difference (2000 resamples, seed 0); verdict: better or worse when the interval "
            "leaves out 0, else unresolved.")


def model_groups(systems: Sequence[ScoreDir]) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """(system name, or None when every system used the same models; [(columns, model version)]): each model
    once, with the columns it produced (wer, wer_en and cer share the ASR)."""
    shared = all(sdir.models == systems[0].models for sdir in systems)
    groups = []
    for sdir in systems[:1] if shared else systems:
        grouped: dict[str, list[str]] = {}
        for metric, version in sdir.models.items():
            grouped.setdefault(version, []).append(metric)
        groups.append((None if shared else sdir.name, [(", ".join(m), v) for v, m in grouped.items()]))
    return groups


def _models_section(systems: Sequence[ScoreDir]) -> list[str]:
    lines = []
    for name, models in model_groups(systems):
        lines += [f"{name}:"] if name else []
        lines += [f"- {metrics}: `{version}`" for metrics, version in models] or ["- none recorded"]
    return lines


def _failures_section(systems: Sequence[ScoreDir]) -> list[str]:
    if not any(sdir.failures for sdir in systems):
        return ["No failures."]
    lines = [md_row(["system", "metric", "reason", "count"]), md_row(["---", "---", "---", "---:"])]
    for sdir in systems:
        for (metric, reason), count in sorted(sdir.failure_counts().items()):
            lines.append(md_row([sdir.name, metric, reason, str(count)]))
    return lines


def md_row(cells: Sequence[str]) -> str:
    """One markdown table row; pipes and newlines inside cells are escaped."""
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
