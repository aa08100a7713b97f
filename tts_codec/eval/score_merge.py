"""Merge the score dirs of an nj-way scoring run into one: rows C-sorted, summary recomputed from the rows.

Every part is read and checked before anything is written, so a broken or missing part leaves no half merge.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

from tts_codec.errors import UserError
from tts_codec.eval.score_dir import (FAILURES, PER_UTT, SUMMARY, TEXT_SIDE_FILES, TRIALS, ScoreFiles, finalize,
                                      read_score_dir, write_failures, write_per_utt, write_side, write_trials_scored)

log = logging.getLogger(__name__)

COMPUTED_KEYS = ("metrics", "n_utts", "n_utts_with_failures", "ci95_method")


def read_parts(part_dirs: Sequence[str | os.PathLike]) -> list[ScoreFiles]:
    """Read and check every part; UserError naming the first missing or malformed file."""
    if len({Path(p).resolve() for p in part_dirs}) != len(part_dirs):
        raise UserError("a part dir is listed twice")
    parts = []
    for part in map(Path, part_dirs):
        if not (part / SUMMARY).is_file():
            raise UserError(f"part {part} has no {SUMMARY}: did its scoring job finish?")
        parts.append(read_score_dir(part))
    return parts


def merge_parts(part_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> dict:
    """Merge the parts into `out_dir`, a new or empty directory; returns the merged summary.

    A non-finite cell of a part becomes an empty cell plus a failure row (counted in n_failed).
    """
    parts = read_parts(part_dirs)
    columns: dict[str, None] = {}
    rows: dict[str, dict[str, float | None]] = {}
    failures, trials, meta = [], [], {}
    side: dict[str, dict[str, str]] = {name: {} for name in TEXT_SIDE_FILES}
    for part in parts:
        columns.update(dict.fromkeys(part.per_utt.columns))
        for utt, row in part.per_utt.rows.items():
            if utt in rows:
                raise UserError(f"utterance {utt} is in more than one part (again in {part.path / PER_UTT})")
            rows[utt] = row
        for failure in part.per_utt.nonfinite:
            log.warning("%s: %s %s: %s; counted as a failure", part.path / PER_UTT, *failure)
        failures += part.failures
        for name, table in part.side.items():
            side[name].update(table)
        trials += part.trials
        meta = _merge_meta(meta, part)
    order = list(meta.get("columns", {}))
    ordered = sorted(columns, key=lambda c: order.index(c) if c in order else len(order))  # the whole run's order
    out = Path(out_dir)
    write_per_utt(out / PER_UTT, ordered, rows)
    write_failures(out / FAILURES, failures)
    for name, table in side.items():
        if table:
            write_side(out / name, table)
    if trials:
        write_trials_scored(out / TRIALS, trials)
    meta["merged_from"] = [str(p) for p in part_dirs]
    return finalize(out, meta)


def _merge_meta(meta: dict, part: ScoreFiles) -> dict:
    keep = {k: v for k, v in part.summary.items() if k not in COMPUTED_KEYS}
    if not meta:
        return keep
    for key in ("protocol", "gen_scp"):
        if keep.get(key) != meta.get(key):
            raise UserError(f"part {part.path}: {key} {keep.get(key)!r} differs from the first part's "
                            f"{meta.get(key)!r}")
    meta["models"] = {**keep.get("models", {}), **meta.get("models", {})}
    meta["columns"] = {**keep.get("columns", {}), **meta.get("columns", {})}
    return meta
