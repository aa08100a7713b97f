"""The on-disk format of a scoring directory: its one reader and writer (scoring, merging, codec usage and reports
all go through this module).

Files (all written atomically, rows C-sorted by utterance):
- per_utt.tsv: header `utt<TAB><column>...`, one row per utterance; a finite number, or empty for a failure/not
  applicable (columns that are not applicable to any utterance, e.g. pitch_acc without intended labels, are left
  out). A non-finite cell (`nan`, `inf`) found when reading is treated as a failure of that cell and counted.
- failures.tsv: `utt<TAB>metric<TAB>reason` rows (no header), one per failed (utterance, column). A failed TTS output
  counted with the worst score (toolkit rules, tts_codec.eval.scoring) has both a number and a failure row, so it
  counts in "n" and in "n_failed".
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
Everything in summary.json is recomputed from the other files by `finalize` (tts_codec.eval.score_merge relies on
it). Every reader raises a UserError naming the file and line of anything malformed.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

from tts_codec.atomic import atomic_write
from tts_codec.attributes import GENDERS, LEVELS
from tts_codec.data.table import read_lines
from tts_codec.errors import UserError
from tts_codec.eval.attributes import confusion
from tts_codec.eval.codec_usage import USAGE_FILE
from tts_codec.eval.eer import compute_eer
from tts_codec.eval.rtf import corpus_rtf, duration_stats
from tts_codec.eval.scoring import BOOTSTRAP_RESAMPLES, UttResult, mean_ci95
from tts_codec.eval.wer import corpus_rates

PER_UTT, FAILURES, SUMMARY, TRIALS = "per_utt.tsv", "failures.tsv", "summary.json", "trials_scored.txt"
ATTR_LABELS = {"pitch": LEVELS, "speed": LEVELS, "gender": GENDERS}
TEXT_SIDE_FILES = ("hyp.txt", "ref.txt", *(f"labels_{a}.txt" for a in ATTR_LABELS))
#: Every file a score dir may hold; anything else in it is not ours to replace.
SCORE_FILES = (PER_UTT, FAILURES, SUMMARY, TRIALS, USAGE_FILE, *TEXT_SIDE_FILES,
               *(f"confusion_{a}.json" for a in ATTR_LABELS))
CI_METHOD = f"percentile bootstrap of the mean, {BOOTSTRAP_RESAMPLES} resamples, seed 0"


class Failure(NamedTuple):
    """One line of failures.tsv."""

    utt: str
    metric: str
    reason: str


class PerUtt(NamedTuple):
    """per_utt.tsv: columns (without `utt`), utt -> column -> value (None = empty cell), and one Failure per
    non-finite cell (its value is None in `rows`)."""

    columns: list[str]
    rows: dict[str, dict[str, float | None]]
    nonfinite: list[Failure]


class ScoredTrial(NamedTuple):
    """One line of trials_scored.txt; score None when the trial failed."""

    enroll: str
    test: str
    target: bool
    score: float | None


@dataclass
class ScoreFiles:
    """Everything in a score dir, read and checked."""

    path: Path
    summary: dict
    per_utt: PerUtt
    failures: list[Failure]  # failures.tsv, then the non-finite cells of per_utt.tsv
    side: dict[str, dict[str, str]] = field(default_factory=dict)  # TEXT_SIDE_FILES present: utt -> rest of line
    trials: list[ScoredTrial] = field(default_factory=list)
    confusions: dict[str, dict] = field(default_factory=dict)  # attr -> confusion_<attr>.json as written


def read_score_dir(path: str | os.PathLike) -> ScoreFiles:
    """Read every file of a finished score dir (summary.json and per_utt.tsv are required)."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"score dir {path}: no such directory")
    per_utt = read_per_utt(path / PER_UTT)
    files = ScoreFiles(path, read_summary(path / SUMMARY), per_utt, read_failures(path / FAILURES) + per_utt.nonfinite)
    files.side = {name: read_side(path / name) for name in TEXT_SIDE_FILES if (path / name).is_file()}
    files.trials = read_trials_scored(path / TRIALS)
    files.confusions = {p.stem[len("confusion_"):]: read_json(p) for p in sorted(path.glob("confusion_*.json"))}
    return files


def refuse_foreign_files(out_dir: str | os.PathLike, option: str = "--out_dir") -> None:
    """UserError if an existing `out_dir` holds anything but score files: replacing it would delete them."""
    out = Path(out_dir)
    if not out.is_dir():
        return
    tmp = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]  # atomic_write's
    foreign = sorted(p.name for p in out.iterdir() if p.name not in SCORE_FILES and p.name not in tmp)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise UserError(f"{option} {out} holds {shown}, which are not score files; it will not be replaced "
                        "(choose a directory of its own)")


def read_json(path: Path) -> dict:
    """A JSON object from a file; UserError naming the file and line when it is missing or malformed."""
    text = "\n".join(read_lines(path))

    def refuse(constant: str) -> None:  # json accepts NaN/Infinity; no score file may hold them
        line = text[:text.find(constant)].count("\n") + 1
        raise UserError(f"{path}:{line}: non-finite number {constant}")

    try:
        data = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: expected a JSON object at the top level")
    return data


def read_summary(path: Path) -> dict:
    """summary.json, with its `metrics`, `models` and `columns` objects checked to be objects."""
    data = read_json(path)
    if not isinstance(data.get("metrics"), dict):
        raise UserError(f"{path}: missing the \"metrics\" object")
    for key in ("models", "columns"):
        if not isinstance(data.get(key, {}), dict):
            raise UserError(f"{path}: \"{key}\" must be an object, got {type(data[key]).__name__}")
    return data


def read_per_utt(path: Path) -> PerUtt:
    """per_utt.tsv (see `PerUtt`); every cell is empty or a number."""
    lines = read_lines(path)
    if not lines or lines[0].split("\t")[0] != "utt":
        raise UserError(f"{path}:1: the header must start with the column 'utt'")
    columns = lines[0].split("\t")[1:]
    rows: dict[str, dict[str, float | None]] = {}
    nonfinite = []
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(columns) + 1:
            raise UserError(f"{path}:{lineno}: {len(cells)} columns, the header has {len(columns) + 1}")
        utt = cells[0]
        if not utt or utt in rows:
            raise UserError(f"{path}:{lineno}: empty or duplicate utterance id {utt!r}")
        row = rows[utt] = {}
        for col, cell in zip(columns, cells[1:]):
            try:
                value = float(cell) if cell.strip() else None
            except ValueError:
                raise UserError(f"{path}:{lineno}: column {col}: not a number: {cell!r}") from None
            if value is not None and not math.isfinite(value):
                nonfinite.append(Failure(utt, col, f"non-finite value {cell.strip()} in {path.name}:{lineno}"))
                value = None
            row[col] = value
    return PerUtt(columns, rows, nonfinite)


def read_failures(path: Path) -> list[Failure]:
    """failures.tsv (tab-separated; whitespace-separated lines and a `utt metric` header are tolerated)."""
    if not path.is_file():
        return []
    failures = []
    for lineno, line in enumerate(read_lines(path), start=1):
        if not line.strip() or (lineno == 1 and line.split()[:2] == ["utt", "metric"]):
            continue
        parts = line.split("\t", 2) if "\t" in line else line.split(maxsplit=2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise UserError(f"{path}:{lineno}: expected `utt<TAB>metric<TAB>reason`")
        failures.append(Failure(parts[0], parts[1], parts[2].strip() if len(parts) > 2 else "unknown"))
    return failures


def read_side(path: Path) -> dict[str, str]:
    """A `utt rest-of-line` side file (hyp.txt, ref.txt, labels_<attr>.txt); {} when absent."""
    if not path.is_file():
        return {}
    table = {}
    for line in read_lines(path):
        utt, _, value = line.partition(" ")
        if utt:
            table[utt] = value
    return table


def read_labels(path: Path) -> dict[str, tuple[str, str]]:
    """labels_<attr>.txt: utt -> (intended, predicted); {} when absent."""
    labels = {}
    for utt, value in read_side(path).items():
        fields = value.split()
        if len(fields) != 2:
            raise UserError(f"{path}: {utt}: expected `utt intended predicted`, got {value!r}")
        labels[utt] = (fields[0], fields[1])
    return labels


def read_trials_scored(path: Path) -> list[ScoredTrial]:
    """trials_scored.txt; [] when absent."""
    if not path.is_file():
        return []
    trials = []
    for lineno, line in enumerate(read_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            enroll, test, label, score = fields
            if label not in ("target", "nontarget"):
                raise ValueError
            value = None if score == "-" else float(score)
        except ValueError:
            raise UserError(f"{path}:{lineno}: expected `enroll test target|nontarget score|-`") from None
        trials.append(ScoredTrial(enroll, test, label == "target", value if value is None or math.isfinite(value)
                                  else None))
    return trials


def write_results(out_dir: str | os.PathLike, results: Mapping[str, UttResult], columns: Mapping[str, bool | None],
                  meta: dict, trials: Sequence[tuple] = ()) -> dict:
    """Write per_utt.tsv, failures.tsv, side files and trials into a new directory, then summary.json.

    A non-finite value becomes a failure of its cell: no score file holds NaN or inf.

    Args:
        out_dir: a new or empty directory (the CLIs pass the one `tts_codec.atomic.replace_dir` builds).
        results: utt -> merged UttResult of every scorer. columns: column -> higher_is_better.
        meta: "models", "protocol", "ref_dir", "gen_scp" (copied into summary.json).
        trials: (Trial, score or None, reason) from eer.score_trials.
    Returns:
        the summary (as written to summary.json).
    """
    out = Path(out_dir)
    utts = sorted(results)
    values = {u: {c: v for c, v in results[u].values.items() if math.isfinite(v)} for u in utts}
    fails = {u: {**{c: f"non-finite value {v}" for c, v in results[u].values.items() if not math.isfinite(v)},
                 **results[u].failures} for u in utts}
    # a column nobody has a value or failure for (e.g. pitch_acc without intended labels) is left out
    present = [c for c in columns if any(c in values[u] or c in fails[u] for u in utts)]
    write_per_utt(out / PER_UTT, present, values)
    failures = [Failure(u, c, fails[u][c]) for u in utts for c in sorted(fails[u])]
    failures += [Failure(t.test, "eer", f"trial {t.enroll} {t.test}: {why}") for t, score, why in trials if score is None]
    write_failures(out / FAILURES, failures)
    for name in sorted({n for r in results.values() for n in r.extras}):
        write_side(out / name, {u: results[u].extras[name] for u in utts if name in results[u].extras})
    if trials:
        write_trials_scored(out / TRIALS, [ScoredTrial(t.enroll, t.test, t.target, s) for t, s, _ in trials])
    return finalize(out, {**meta, "columns": dict(columns)})


def finalize(out_dir: str | os.PathLike, meta: dict) -> dict:
    """(Re)compute summary.json and confusion_*.json from the files of `out_dir`; returns the summary."""
    out = Path(out_dir)
    per_utt = read_per_utt(out / PER_UTT)
    failures = read_failures(out / FAILURES) + per_utt.nonfinite
    hib = meta.get("columns", {})
    metrics = {}
    for col in per_utt.columns:
        values = [row[col] for row in per_utt.rows.values() if row[col] is not None]
        n_failed = sum(1 for f in failures if f.metric == col)
        if values or n_failed:
            mean, ci = mean_ci95(values)
            metrics[col] = {"mean": _num(mean), "ci95": [_num(v) for v in ci], "n": len(values),
                            "n_failed": n_failed, "higher_is_better": hib.get(col)}
    _add_corpus_figures(out, per_utt, metrics, meta)
    _add_eer(read_trials_scored(out / TRIALS), metrics)
    if (out / USAGE_FILE).is_file():
        usage = read_json(out / USAGE_FILE).get("metrics")
        if not isinstance(usage, dict):
            raise UserError(f"{out / USAGE_FILE}: missing the \"metrics\" object")
        metrics.update(usage)
    for attr, labels in ATTR_LABELS.items():
        pairs = [(i, p) for i, p in read_labels(out / f"labels_{attr}.txt").values() if i != "-"]
        if pairs:
            _write_json(out / f"confusion_{attr}.json", confusion(pairs, labels))
    failed_utts = {f.utt for f in failures if f.metric != "eer"}
    summary = {"metrics": metrics, **meta, "ci95_method": CI_METHOD, "n_utts": len(per_utt.rows),
               "n_utts_with_failures": len(failed_utts & set(per_utt.rows))}
    _write_json(out / SUMMARY, summary)
    return summary


def write_per_utt(path: Path, columns: Sequence[str], rows: Mapping[str, Mapping[str, float | None]]) -> None:
    """per_utt.tsv of utt -> column -> value (missing or None = empty cell), rows C-sorted."""
    lines = ["\t".join(["utt", *columns])]
    lines += ["\t".join([u] + [_fmt(rows[u].get(c)) for c in columns]) for u in sorted(rows)]
    _write_lines(path, lines)


def write_failures(path: Path, failures: Sequence[Failure]) -> None:
    """failures.tsv, sorted; reasons squeezed to one line without tabs."""
    _write_lines(path, sorted("\t".join((f.utt, f.metric, _clean(f.reason))) for f in failures))


def write_side(path: Path, table: Mapping[str, str]) -> None:
    """A `utt rest-of-line` side file, C-sorted."""
    _write_lines(path, [f"{u} {_clean(table[u])}".rstrip() for u in sorted(table)])


def write_trials_scored(path: Path, trials: Sequence[ScoredTrial]) -> None:
    """trials_scored.txt, sorted, duplicates dropped."""
    _write_lines(path, sorted({f"{t.enroll} {t.test} {'target' if t.target else 'nontarget'} "
                               f"{'-' if t.score is None else _fmt(t.score)}" for t in trials}))


def _add_corpus_figures(out: Path, per_utt: PerUtt, metrics: dict, meta: dict) -> None:
    hyps, refs = read_side(out / "hyp.txt"), read_side(out / "ref.txt")
    both = sorted(set(hyps) & set(refs))
    if both:  # the text rules of the run (tts_codec.eval.wer), recorded in summary.json
        rules = {"norm": meta.get("text_norm") or "simple", "lang": meta.get("lang") or "en"}
        for col, value in corpus_rates([refs[u] for u in both], [hyps[u] for u in both], **rules).items():
            if col in metrics:
                metrics[col]["corpus"] = _num(value)
    rows = per_utt.rows.values()
    if "duration_s" in metrics:
        metrics["duration_s"]["stats"] = duration_stats([r["duration_s"] for r in rows if r["duration_s"] is not None])
        if "rtf" in metrics:
            pairs = [(r["rtf"], r["duration_s"]) for r in rows if r["rtf"] is not None and r["duration_s"] is not None]
            metrics["rtf"]["corpus"] = _num(corpus_rtf([p[0] for p in pairs], [p[1] for p in pairs]))


def _add_eer(trials: list[ScoredTrial], metrics: dict) -> None:
    if not trials:
        return
    ok = [(t.score, t.target) for t in trials if t.score is not None]
    entry = {"mean": None, "ci95": None, "n": len(ok), "n_failed": len(trials) - len(ok), "higher_is_better": False}
    try:
        eer = compute_eer([s for s, _ in ok], [t for _, t in ok])
        entry.update(mean=eer.eer, threshold=eer.threshold)
    except ValueError as err:
        entry["error"] = str(err)
    metrics["eer"] = entry


def _clean(text: str) -> str:
    """One line, no tabs: side files and failures.tsv are line- and tab-separated."""
    return " ".join(str(text).split())


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.8g}"


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _write_lines(path: Path, lines: list[str]) -> None:
    with atomic_write(path, "w") as handle:
        handle.writelines(line + "\n" for line in lines)


def _write_json(path: Path, obj: dict) -> None:
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")
