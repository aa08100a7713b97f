"""The on-disk format of a scoring directory, and the summary computed from it (the report tools read this).

Files (all written atomically, rows C-sorted by utterance):
- per_utt.tsv: header `utt<TAB><column>...`, one row per utterance; a value, or empty for a failure/not applicable
  (columns that are not applicable to any utterance, e.g. pitch_acc without intended labels, are left out).
- failures.tsv: `utt<TAB>metric<TAB>reason` rows (no header), one per failed (utterance, column).
- hyp.txt, ref.txt: `utt text` (raw ASR hypothesis / reference, for auditing WER).
- labels_<attr>.txt: `utt intended predicted` (`-` when no intended label); confusion_<attr>.json from them:
  `{"labels": [...], "matrix": [[...]], "accuracy": x}` with rows = intended, columns = predicted.
- trials_scored.txt: `enroll test target|nontarget score` (score `-` if it failed), for the EER.
- codec_usage.json: corpus-level bitrate and codebook usage of the tokens (tts_codec.eval.codec_usage).
- summary.json: `{"metrics": {column: {"mean", "ci95": [lo, hi], "n", "n_failed", "higher_is_better"}}, "models":
  {column: version}, "protocol", "ref_dir", "gen_scp", ...}`. `higher_is_better` is null for descriptive columns
  (f0_hz, sps, duration_s). wer/wer_en/cer and rtf also carry "corpus" (errors or time summed over the corpus),
  duration_s carries "stats", eer carries "threshold" (its ci95 is null). The 95 % interval is a percentile
  bootstrap of the mean (2000 resamples, seed 0, values in C-sorted utterance order), so a merge of parts equals
  a whole run.
Everything in summary.json is recomputed from the other files by `finalize`, which is what `merge_parts` relies on.
"""
from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError
from tts_codec.attributes import GENDERS, LEVELS
from tts_codec.eval.attributes import confusion
from tts_codec.eval.codec_usage import read_usage
from tts_codec.eval.eer import compute_eer
from tts_codec.eval.rtf import corpus_rtf, duration_stats
from tts_codec.eval.scoring import BOOTSTRAP_RESAMPLES, UttResult, mean_ci95
from tts_codec.eval.wer import corpus_rates

log = logging.getLogger(__name__)

PER_UTT, FAILURES, SUMMARY, TRIALS = "per_utt.tsv", "failures.tsv", "summary.json", "trials_scored.txt"
TEXT_SIDE_FILES = ("hyp.txt", "ref.txt", "labels_pitch.txt", "labels_speed.txt", "labels_gender.txt")
ATTR_LABELS = {"pitch": LEVELS, "speed": LEVELS, "gender": GENDERS}
CI_METHOD = f"percentile bootstrap of the mean, {BOOTSTRAP_RESAMPLES} resamples, seed 0"


def write_results(out_dir: str | os.PathLike, results: Mapping[str, UttResult], columns: Mapping[str, bool | None],
                  meta: dict, trials: Sequence[tuple] = ()) -> dict:
    """Write per_utt.tsv, failures.tsv, side files and trials, then summary.json; returns the summary.

    Args:
        results: utt -> merged UttResult of every scorer. columns: column -> higher_is_better.
        meta: "models", "protocol", "ref_dir", "gen_scp" (copied into summary.json).
        trials: (Trial, score or None, reason) from eer.score_trials.
    """
    out = Path(out_dir)
    clear_outputs(out)
    utts = sorted(results)
    # a column nobody has a value or failure for (e.g. pitch_acc without intended labels) is left out
    present = [c for c in columns if any(c in r.values or c in r.failures for r in results.values())]
    rows = [[u] + [_fmt(results[u].values.get(c)) for c in present] for u in utts]
    _write_tsv(out / PER_UTT, ["utt", *present], rows)
    fails = [[u, c, _clean(results[u].failures[c])] for u in utts for c in sorted(results[u].failures)]
    fails += [[t.test, "eer", _clean(f"trial {t.enroll} {t.test}: {why}")] for t, score, why in trials if score is None]
    _write_lines(out / FAILURES, ["\t".join(f) for f in sorted(fails)])
    for name in sorted({n for r in results.values() for n in r.extras}):
        _write_lines(out / name, [f"{u} {_clean(results[u].extras[name])}".rstrip() for u in utts
                                 if name in results[u].extras])
    if trials:
        _write_lines(out / TRIALS, sorted(f"{t.enroll} {t.test} {'target' if t.target else 'nontarget'} "
                                          f"{'-' if s is None else _fmt(s)}" for t, s, _ in trials))
    return finalize(out, {**meta, "columns": dict(columns)})


def finalize(out_dir: str | os.PathLike, meta: dict) -> dict:
    """(Re)compute summary.json and confusion_*.json from the files of `out_dir`; log a one-line tally."""
    out = Path(out_dir)
    columns, rows = read_per_utt(out / PER_UTT)
    failures = read_failures(out / FAILURES)
    hib = meta.get("columns", {})
    metrics = {}
    for i, col in enumerate(columns):
        values = [float(r[i]) for r in rows.values() if r[i] != ""]
        n_failed = sum(1 for u, c, _ in failures if c == col)
        if values or n_failed:
            mean, ci = mean_ci95(values)
            metrics[col] = {"mean": _num(mean), "ci95": [_num(v) for v in ci], "n": len(values),
                            "n_failed": n_failed, "higher_is_better": hib.get(col)}
    _add_corpus_figures(out, columns, rows, metrics)
    _add_eer(out, failures, metrics)
    metrics.update(read_usage(out))
    for attr, labels in ATTR_LABELS.items():
        pairs = [v.split() for v in _read_side(out / f"labels_{attr}.txt").values()]
        pairs = [(i, p) for i, p in pairs if i != "-"]
        if pairs:
            _write_json(out / f"confusion_{attr}.json", confusion(pairs, labels))
    failed_utts = {u for u, c, _ in failures if c != "eer"}
    summary = {"metrics": metrics, **{k: v for k, v in meta.items()}, "ci95_method": CI_METHOD,
               "n_utts": len(rows), "n_utts_with_failures": len(failed_utts & set(rows))}
    _write_json(out / SUMMARY, summary)
    log.info("scored %d utterances in %s: %d with at least one failure (%d failure rows, see %s)",
             len(rows), out, summary["n_utts_with_failures"], len(failures), out / FAILURES)
    return summary


def merge_parts(part_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> dict:
    """Merge scoring dirs of nj parts into `out_dir` (rows C-sorted, summary recomputed); returns the summary."""
    out = Path(out_dir)
    clear_outputs(out)
    all_cols: dict[str, None] = {}
    rows: dict[str, dict[str, str]] = {}
    failures, side, trials, meta = [], {}, [], {}
    for part in map(Path, part_dirs):
        if not (part / SUMMARY).is_file():
            raise UserError(f"part {part} has no {SUMMARY}: did its scoring job finish?")
        part_meta = json.loads((part / SUMMARY).read_text(encoding="utf-8"))
        cols, part_rows = read_per_utt(part / PER_UTT)
        all_cols.update(dict.fromkeys(cols))
        for utt, row in part_rows.items():
            if utt in rows:
                raise UserError(f"utterance {utt} is in more than one part (again in {part / PER_UTT})")
            rows[utt] = dict(zip(cols, row))
        failures += read_failures(part / FAILURES)
        for name in TEXT_SIDE_FILES:
            side.setdefault(name, {}).update(_read_side(part / name))
        if (part / TRIALS).is_file():
            trials += (part / TRIALS).read_text(encoding="utf-8").splitlines()
        meta = _merge_meta(meta, part_meta, part)
    order = list(meta.get("columns", {}))
    cols = sorted(all_cols, key=lambda c: order.index(c) if c in order else len(order))  # the whole run's order
    _write_tsv(out / PER_UTT, ["utt", *cols], [[u] + [rows[u].get(c, "") for c in cols] for u in sorted(rows)])
    _write_lines(out / FAILURES, ["\t".join(f) for f in sorted(failures)])
    for name, table in side.items():
        if table:
            _write_lines(out / name, [f"{u} {table[u]}".rstrip() for u in sorted(table)])
    if trials:
        _write_lines(out / TRIALS, sorted(set(trials)))
    meta["merged_from"] = [str(p) for p in part_dirs]
    return finalize(out, meta)


def clear_outputs(out: Path) -> None:
    """Remove the files of an earlier run (an --overwrite rerun must not mix stale side files in)."""
    names = [PER_UTT, FAILURES, SUMMARY, TRIALS, *TEXT_SIDE_FILES, *(f"confusion_{a}.json" for a in ATTR_LABELS)]
    for name in names:
        (out / name).unlink(missing_ok=True)


def read_per_utt(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Columns (without `utt`) and utt -> cell strings of a per_utt.tsv."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("utt"):
        raise UserError(f"{path}:1: expected a header starting with `utt`")
    header = lines[0].split("\t")
    rows = {}
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise UserError(f"{path}:{lineno}: {len(cells)} cells, header has {len(header)}")
        rows[cells[0]] = cells[1:]
    return header[1:], rows


def read_failures(path: Path) -> list[tuple[str, str, str]]:
    """(utt, metric, reason) rows of a failures.tsv (no header)."""
    if not path.is_file():
        return []
    return [tuple(line.split("\t", 2)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _add_corpus_figures(out: Path, columns: list[str], rows: dict[str, list[str]], metrics: dict) -> None:
    hyps, refs = _read_side(out / "hyp.txt"), _read_side(out / "ref.txt")
    both = sorted(set(hyps) & set(refs))
    if both:
        for col, value in corpus_rates([refs[u] for u in both], [hyps[u] for u in both]).items():
            if col in metrics:
                metrics[col]["corpus"] = _num(value)
    if "duration_s" in metrics:
        d = columns.index("duration_s")
        metrics["duration_s"]["stats"] = duration_stats([float(r[d]) for r in rows.values() if r[d]])
        if "rtf" in metrics:
            r_i = columns.index("rtf")
            pairs = [(float(r[r_i]), float(r[d])) for r in rows.values() if r[r_i] and r[d]]
            metrics["rtf"]["corpus"] = _num(corpus_rtf([p[0] for p in pairs], [p[1] for p in pairs]))


def _add_eer(out: Path, failures: list, metrics: dict) -> None:
    if not (out / TRIALS).is_file():
        return
    scored = [line.split() for line in (out / TRIALS).read_text(encoding="utf-8").splitlines() if line]
    ok = [(float(s), lab == "target") for _, _, lab, s in scored if s != "-"]
    entry = {"mean": None, "ci95": None, "n": len(ok), "n_failed": len(scored) - len(ok), "higher_is_better": False}
    try:
        eer = compute_eer([s for s, _ in ok], [t for _, t in ok])
        entry.update(mean=eer.eer, threshold=eer.threshold)
    except ValueError as err:
        entry["error"] = str(err)
    metrics["eer"] = entry


def _merge_meta(meta: dict, part_meta: dict, part: Path) -> dict:
    keep = {k: v for k, v in part_meta.items() if k not in ("metrics", "n_utts", "n_utts_with_failures", "ci95_method")}
    if not meta:
        return keep
    for key in ("protocol", "gen_scp"):
        if keep.get(key) != meta.get(key):
            raise UserError(f"part {part}: {key} {keep.get(key)!r} differs from the first part's {meta.get(key)!r}")
    meta["models"] = {**keep.get("models", {}), **meta.get("models", {})}
    meta["columns"] = {**keep.get("columns", {}), **meta.get("columns", {})}
    return meta


def _read_side(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        utt, _, value = line.partition(" ")
        if utt:
            table[utt] = value
    return table


def _clean(text: str) -> str:
    """One line, no tabs: side files and failures.tsv are line- and tab-separated."""
    return " ".join(str(text).split())


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.8g}"


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    _write_lines(path, ["\t".join(header)] + ["\t".join(r) for r in rows])


def _write_lines(path: Path, lines: list[str]) -> None:
    with atomic_write(path, "w") as handle:
        handle.writelines(line + "\n" for line in lines)


def _write_json(path: Path, obj: dict) -> None:
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")
