"""Reference runs: measured figures of other runs (e.g. a recipe's RESULTS.md) that a report sets beside its own.

A short demo run says little on its own; set beside the recipe's measured long runs, its report says how far it is
from them. The file is tab-separated, `#` starts a comment line, and the header names the columns:

    system<TAB>setup<TAB><metric>...       metric names as in summary.json (wer, sim, pesq_wb, stoi, dnsmos_ovrl)
    30-minute codec, 3000 batches<TAB>large corpus, 34 min<TAB>0.683<TAB>0.799 ...

A cell is a number, or `-` when that run has no figure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tts_codec.eval.report import ScoreDir, format_number
from tts_codec.eval.report.results_md import ARROWS, md_row
from tts_codec.errors import UserError

REQUIRED_COLUMNS = ("system", "setup")
MISSING = "-"


@dataclass(frozen=True)
class ReferenceRun:
    """One measured run: its name, how it was made, and its metric means (absent metrics are not in `metrics`)."""

    system: str
    setup: str
    metrics: dict[str, float]


def load_reference_runs(path: str | Path) -> list[ReferenceRun]:
    """Parse a reference-runs file; any malformed line is refused with its file and line number."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"reference runs {path}: cannot read ({err})") from err
    header: list[str] | None = None
    runs = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        where = f"{path}:{lineno}"
        if header is None:
            header = _check_header(cells, where)
            continue
        if len(cells) != len(header):
            raise UserError(f"{where}: {len(cells)} tab-separated cells, the header has {len(header)}")
        if not cells[0]:
            raise UserError(f"{where}: empty system name")
        metrics = {name: _number(cell, name, where) for name, cell in zip(header[2:], cells[2:]) if cell != MISSING}
        runs.append(ReferenceRun(cells[0], cells[1], metrics))
    if header is None or not runs:
        raise UserError(f"reference runs {path}: no {'header' if header is None else 'run'} line")
    if len({run.system for run in runs}) < len(runs):
        raise UserError(f"reference runs {path}: system names repeat")
    return runs


def _check_header(cells: list[str], where: str) -> list[str]:
    if tuple(cells[:2]) != REQUIRED_COLUMNS or len(cells) < 3:
        raise UserError(f"{where}: the header must be `system<TAB>setup<TAB><metric>...`, got {cells}")
    if len(set(cells)) < len(cells) or not all(cells):
        raise UserError(f"{where}: header columns must be distinct and non-empty, got {cells}")
    return cells


def _number(cell: str, metric: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise UserError(f"{where}: {metric} = {cell!r} is not a finite number (or `{MISSING}` for none)")
    return value


def reference_section(system: ScoreDir, runs: Sequence[ReferenceRun], source: str) -> list[str]:
    """Markdown lines: this run's means beside each reference run's, with the difference (reference minus this run,
    so a positive figure on a higher-is-better metric is how far this run is behind), on the metrics both have."""
    metrics = [name for name, summ in system.summary.items()
               if summ.mean is not None and any(name in run.metrics for run in runs)]
    out = ["## Against reference runs", "",
           f"Measured elsewhere ({source}), not in this run; the test sets may differ, see each run's setup.", ""]
    for run in runs:
        out.append(f"- **{run.system}**: {run.setup}")
    if not metrics:
        out += ["", "No metric of this run has a reference figure."]
        return out
    header = ["metric", "", "this run", *(f"{run.system} (gap)" for run in runs)]
    out += ["", md_row(header), md_row(["---", ":-:"] + ["---:"] * (len(header) - 2))]
    for name in metrics:
        summ = system.summary[name]
        cells = [name, ARROWS[summ.higher_is_better], format_number(summ.mean)]
        for run in runs:
            ref = run.metrics.get(name)
            cells.append("–" if ref is None else f"{format_number(ref)} ({_signed(ref - summ.mean)})")
        out.append(md_row(cells))
    return out


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + format_number(abs(value))
