"""Static HTML listening page: reference and generated audio side by side, transcripts with word differences,
per-utterance metrics, mel spectrograms, the summary table and metric plots, in one self-contained directory.

Layout of the page directory (relative links only; nothing is fetched from the network):
    index.html, audio/{ref,sys<i>}/<utt>.wav, img/mel/{ref,sys<i>}/<utt>.png, img/*.png
"""
from __future__ import annotations

import hashlib
import logging
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import jinja2
import jiwer
import numpy as np
from tqdm import tqdm

from tts_codec.atomic import replace_dir
from tts_codec.data.audio import read_audio, write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.eval.report import ScoreDir, format_number
from tts_codec.eval.report.mel_images import write_mel_png
from tts_codec.eval.report.plots import plot_confusion, plot_distribution
from tts_codec.eval.normalize import simple_normalize
from tts_codec.eval.report.paired import paired_differences
from tts_codec.eval.report.results_md import (
    ARROWS,
    SYSTEM_COLUMNS,
    metric_notes,
    model_groups,
    paired_legend,
    summary_rows,
    table_legend,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
WORST_PATTERN = re.compile(r"(^|[_-])(wer|cer)($|[_-])", re.IGNORECASE)


@dataclass
class Token:
    """One word of a hypothesis aligned to the reference: kind is ok, sub (ref = the reference word), ins or del."""

    kind: str
    text: str
    ref: str = ""


@dataclass
class AudioCell:
    """One audio clip on the page; `error` explains a missing clip."""

    audio: str | None = None
    mel: str | None = None
    duration: float | None = None
    error: str | None = None


@dataclass
class SystemCell:
    """One system's output for one utterance."""

    clip: AudioCell
    hyp: list[Token] | None
    metrics: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value text, failure reason)
    labels: list[tuple[str, str, str]] = field(default_factory=list)  # (attribute, intended, predicted)


@dataclass
class Row:
    """One utterance row: why it was chosen, the reference, and one cell per system."""

    utt: str
    why: str
    ref: AudioCell
    ref_text: str | None
    systems: list[SystemCell]


def word_diff(ref: str, hyp: str) -> list[Token]:
    """Align hypothesis words to reference words (jiwer) and label each as ok / sub / ins / del.

    Both texts are compared after the "simple" WER normaliser (lowercase, no punctuation), as WER sees them.
    """
    ref, hyp = simple_normalize(ref), simple_normalize(hyp)
    ref_words, hyp_words = ref.split(), hyp.split()
    if not ref_words or not hyp_words:
        return [Token("del", w) for w in ref_words] + [Token("ins", w) for w in hyp_words]
    tokens = []
    for chunk in jiwer.process_words(ref, hyp).alignments[0]:
        r = ref_words[chunk.ref_start_idx:chunk.ref_end_idx]
        h = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type == "equal":
            tokens += [Token("ok", w) for w in h]
        else:
            tokens += [Token("sub", hw, rw) for rw, hw in zip(r, h)]
            tokens += [Token("del", w) for w in r[len(h):]] + [Token("ins", w) for w in h[len(r):]]
    return tokens


def pick_worst_metric(systems: Sequence[ScoreDir], requested: str) -> str | None:
    """Resolve --worst_by: "auto" = the first per-utterance WER/CER column, "none" = no worst-case rows."""
    columns = [m for sdir in systems for m in sdir.per_utt_metrics]
    if requested == "none":
        return None
    if requested == "auto":
        return next((m for m in columns if WORST_PATTERN.search(m)), None)
    if requested not in columns:
        raise UserError(f"--worst_by {requested}: not a per-utterance metric of the score dirs (have: "
                        f"{', '.join(dict.fromkeys(columns)) or 'none'})")
    return requested


def select_rows(
    systems: Sequence[ScoreDir], max_rows: int, worst_by: str | None, seed: int = 0
) -> list[tuple[str, str]]:
    """Choose up to `max_rows` utterances: half the worst by `worst_by` (failures first), the rest a seeded sample.

    Returns:
        (utt, why) pairs: the worst ones from worst to better, then the sample in C order.
    """
    utts = sorted(set().union(*(sdir.scores for sdir in systems)))
    badness = {u: max(_badness(sdir, u, worst_by) for sdir in systems) for u in utts} if worst_by else {}
    by_badness = sorted(utts, key=lambda u: (-badness[u], u)) if worst_by else utts
    if len(utts) <= max_rows:
        return [(u, "all") for u in by_badness]
    chosen = [(u, f"worst {worst_by}") for u in by_badness[: max_rows // 2]] if worst_by else []
    taken = {u for u, _ in chosen}
    rest = [u for u in utts if u not in taken]
    sample = random.Random(seed).sample(rest, max_rows - len(chosen))
    return chosen + [(u, "sample") for u in sorted(sample)]


def _badness(sdir: ScoreDir, utt: str, metric: str) -> float:
    """How bad an utterance is for ranking: failures and unscored utterances are the worst."""
    summ = sdir.summary.get(metric)
    if metric not in sdir.per_utt_metrics:
        return -np.inf
    value = sdir.scores.get(utt, {}).get(metric)
    if value is None:
        return np.inf
    return -value if summ is not None and summ.higher_is_better else value


AudioSpecs = Mapping[str, tuple[str, float, float | None]]


def reference_audio(ref_dir: str | Path | None) -> tuple[dict | None, dict[str, str]]:
    """(utt -> (spec, start s, end s), utt -> text) of a Kaldi data dir, honouring `segments`; (None, {})
    without one."""
    if ref_dir is None:
        return None, {}
    data = DataDir.load(ref_dir)
    specs = {}
    for utt in data.utt_ids:
        try:
            specs[utt] = data.audio_spec(utt)
        except UserError as err:  # shown on the page for that row instead of stopping the report
            log.warning("%s", err)
    return specs, dict(data.text)


def generated_audio(gen: str | Path, utts: Sequence[str]) -> dict:
    """utt -> (spec, 0, None) from a generated wav.scp, or `<dir>/<utt>.wav` when `gen` is a directory."""
    gen = Path(gen)
    if gen.is_dir():
        return {u: (str(gen / f"{u}.wav"), 0.0, None) for u in utts if (gen / f"{u}.wav").is_file()}
    return {u: (spec, 0.0, None) for u, spec in read_table(gen).items()}


def write_listening_page(
    html_dir: str | Path,
    systems: Sequence[ScoreDir],
    ref_dir: str | Path | None,
    gen_scps: Sequence[str | Path],
    title: str,
    max_rows: int = 100,
    worst_by: str = "auto",
    seed: int = 0,
    header: Mapping[str, str] | None = None,
    overwrite: bool = False,
    inputs: Sequence[str | Path] = (),
) -> Path:
    """Build the page aside and swap it in (tts_codec.atomic.replace_dir): a failed build leaves the old page.

    Args:
        html_dir: the page directory to create (index.html inside).
        systems: the score dirs, one per system; `gen_scps[i]` (a wav.scp or a directory of <utt>.wav) holds
            system i's generated audio.
        ref_dir: Kaldi data dir of the reference audio and text (None: the page shows generated audio only).
        title: page title.
        max_rows, worst_by, seed: row selection (see `select_rows`, `pick_worst_metric`).
        header: extra `label: value` lines for the page header (date, commit, ...).
        overwrite: replace an existing `html_dir`.
        inputs: files and dirs read for the page (default: the score dirs, gen_scps and ref_dir); `html_dir` may
            not be, contain or lie in one of them.
    Returns:
        the path of index.html.
    """
    html_dir = Path(html_dir)
    if len(gen_scps) != len(systems):
        raise UserError(f"got {len(gen_scps)} generated wav.scp files for {len(systems)} score dirs")
    inputs = list(inputs) or [*(s.path for s in systems), *gen_scps, *([ref_dir] if ref_dir else [])]
    with replace_dir(html_dir, inputs, overwrite, "listening page") as new:
        _build(new, systems, ref_dir, gen_scps, title, max_rows, worst_by, seed, dict(header or {}))
    return html_dir / "index.html"


def _build(out: Path, systems, ref_dir, gen_scps, title, max_rows, worst_by, seed, header) -> None:
    worst_metric = pick_worst_metric(systems, worst_by)
    chosen = select_rows(systems, max_rows, worst_metric, seed)
    ref_specs, ref_texts = reference_audio(ref_dir)
    gen_specs = [generated_audio(gen, [u for u, _ in chosen]) for gen in gen_scps]
    rows = [
        _row(out, utt, why, systems, ref_specs, ref_texts, gen_specs)
        for utt, why in tqdm(chosen, desc="listening page", unit="utt", mininterval=5)
    ]
    context = dict(
        title=title, header=header, systems=systems, columns=SYSTEM_COLUMNS, summary=summary_rows(systems),
        legend=table_legend(systems), notes=metric_notes(systems), models=model_groups(systems),
        paired=paired_differences(systems), paired_legend=paired_legend(systems[0].name), fmt=format_number,
        arrows=ARROWS,
        distributions=_distribution_plots(out, systems), confusions=_confusion_plots(out, systems), rows=rows,
        n_utts=len(set().union(*(s.scores for s in systems))), worst_metric=worst_metric,
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    (out / "index.html").write_text(env.get_template("page.html.j2").render(**context), encoding="utf-8")


def _row(out: Path, utt: str, why: str, systems, ref_specs, ref_texts, gen_specs) -> Row:
    slug = _slug(utt)
    loaded = [_load(ref_specs, utt, "reference wav.scp")] + [_load(g, utt, "generated wav.scp") for g in gen_specs]
    rates = [item[1] for item in loaded if not isinstance(item, str)]
    fmax = min(rates) / 2 if rates else None
    clips = [_export(out, f"{sub}/{slug}", item, fmax)
             for sub, item in zip(["ref"] + [f"sys{i}" for i in range(len(systems))], loaded)]
    cells = [_system_cell(sdir, utt, clip, ref_texts) for sdir, clip in zip(systems, clips[1:])]
    ref_text = ref_texts.get(utt) or next((s.ref_text[utt] for s in systems if s.ref_text and utt in s.ref_text), None)
    return Row(utt, why, clips[0], ref_text, cells)


def _system_cell(sdir: ScoreDir, utt: str, clip: AudioCell, ref_texts: Mapping[str, str]) -> SystemCell:
    """The ASR word diff, per-utterance metrics (failures with their reason) and labels of one system."""
    hyp = None
    if sdir.hyp is not None and utt in sdir.hyp:
        hyp = word_diff((sdir.ref_text or {}).get(utt, ref_texts.get(utt, "")), sdir.hyp[utt])
    metrics = []
    for metric in sdir.per_utt_metrics:
        value = sdir.scores.get(utt, {}).get(metric)
        if value is None:
            metrics.append((metric, "failed", sdir.failure_reason(utt, metric) or "not scored"))
        else:
            metrics.append((metric, format_number(value), ""))
    labels = [(attr, *table[utt]) for attr, table in sdir.labels.items() if utt in table]
    return SystemCell(clip, hyp, metrics, labels)


def _load(specs: AudioSpecs | None, utt: str, what: str):
    """(wav, sr) of an utterance, or a string saying why there is none (the page shows it instead of audio)."""
    if specs is None:
        return "no reference data dir given"
    if utt not in specs:
        return f"not in the {what}"
    spec, start, end = specs[utt]
    try:
        return read_audio(spec, start=start, end=end)
    except UserError as err:
        log.warning("%s: %s", utt, err)
        return str(err)


def _export(out: Path, stem: str, item, fmax: float | None) -> AudioCell:
    if isinstance(item, str):
        return AudioCell(error=item)
    wav, sr = item
    write_wav(out / "audio" / f"{stem}.wav", wav, sr)
    write_mel_png(wav, sr, out / "img" / "mel" / f"{stem}.png", fmax=fmax)
    return AudioCell(f"audio/{stem}.wav", f"img/mel/{stem}.png", len(wav) / sr)


def _distribution_plots(out: Path, systems: Sequence[ScoreDir]) -> list[tuple[str, str]]:
    plots = []
    for metric in dict.fromkeys(m for s in systems for m in s.per_utt_metrics):
        higher = next((s.summary[metric].higher_is_better for s in systems if metric in s.summary), None)
        rel = f"img/dist_{_slug(metric)}.png"
        values = {s.name: s.values(metric) for s in systems if metric in s.per_utt_metrics}
        plot_distribution(values, metric, higher, out / rel)
        plots.append((metric, rel))
    return plots


def _confusion_plots(out: Path, systems: Sequence[ScoreDir]) -> list[tuple[str, str]]:
    plots = []
    for i, sdir in enumerate(systems):
        for attr, confusion in sdir.confusions.items():
            rel = f"img/confusion_sys{i}_{_slug(attr)}.png"
            title = f"{sdir.name}: {attr}" if len(systems) > 1 else attr
            plot_confusion(confusion, title, out / rel)
            plots.append((title, rel))
    return plots


def _slug(name: str) -> str:
    """A file-name-safe version of an id; a hash suffix keeps distinct ids distinct after replacement."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"
    if safe != name:
        safe += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return safe
