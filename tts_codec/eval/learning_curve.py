"""Codec learning curves: resynthesise a test set with every saved checkpoint of a training run, score it, plot it.

A run dir is what `tts_codec.bin.train_codec` writes: `config.yaml` (written when training starts) and
`checkpoints/batchNNNNNNNN.ckpt`. A checkpoint's training time is its file time minus the config's, so the curve's
x axis is wall-clock minutes on the machine that trained (evaluation pauses count only if they ran beside it).
Each checkpoint is scored once into `<out_dir>/<checkpoint name>/` (reruns skip finished ones).
"""
from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from tts_codec.atomic import replace_dir
from tts_codec.codecs.base import Codec
from tts_codec.cli import positive_float, positive_int, str2bool
from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.eval.codec_usage import stream_usage
from tts_codec.eval.protocols import build_items
from tts_codec.eval.registry import build_scorers, column_info
from tts_codec.eval.score_dir import write_results
from tts_codec.eval.scoring import EvalOptions, require_scores, run_scorers

log = logging.getLogger(__name__)

CURVE_METRICS = ("wer", "sim", "pesq", "stoi", "dnsmos")
#: columns of curve.tsv after checkpoint, batches and minutes; then one `<stream>_perplexity` per token stream
CURVE_COLUMNS = ("wer", "sim", "pesq_wb", "stoi", "dnsmos_ovrl")
#: the training-config keys that build the codec of a checkpoint (every codec's model keys)
CODEC_KEYS = ("codec", "sample_rate", "codec_conf", "ssl_conf", "wave_encoder", "wave_decoder")
CKPT_RE = re.compile(r"batch(\d+)\.ckpt$")


def run_checkpoints(run_dir: str | Path) -> list[tuple[Path, int, float]]:
    """(path, batches, minutes since training started) of a run's periodic checkpoints, oldest first."""
    run_dir = Path(run_dir)
    config = run_dir / "config.yaml"
    if not config.is_file():
        raise UserError(f"{run_dir}: no config.yaml (not a train_codec output dir)")
    start = config.stat().st_mtime
    found = []
    for path in (run_dir / "checkpoints").glob("batch*.ckpt"):
        match = CKPT_RE.search(path.name)
        if match:
            found.append((path, int(match.group(1)), (path.stat().st_mtime - start) / 60))
    if not found:
        raise UserError(f"{run_dir}/checkpoints: no batchNNNNNNNN.ckpt (set trainer.checkpoint_every_n_steps and "
                        "trainer.keep_checkpoints to keep them)")
    found.sort(key=lambda item: item[1])
    if found[0][2] < 0:  # a resumed run rewrote config.yaml after its first checkpoints
        (_, b0, m0), (_, b1, m1) = found[0], found[min(1, len(found) - 1)]
        per_batch = (m1 - m0) / (b1 - b0) if b1 > b0 else 0.0
        shift = b0 * per_batch - m0  # the first checkpoint at the rate of the first interval
        log.warning("%s was resumed (config.yaml is newer than %s): minutes counted from an estimated start, "
                    "and they include any pause before the resume; pass --batches_per_second R for minutes of "
                    "training alone", run_dir, found[0][0].name)
        found = [(path, batches, minutes + shift) for path, batches, minutes in found]
    return found


def load_checkpoint_codec(path: str | Path) -> Codec:
    """The generator of a codec training checkpoint (any codec of `tts_codec.codecs.CODECS`), in eval mode (weights
    under `generator.` in its state dict)."""
    from tts_codec.codecs import build_codec

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    config = (ckpt.get("hyper_parameters") or {}).get("config") or {}
    if "codec" not in config:
        raise UserError(f"{path}: not a checkpoint of a codec training run (no codec in hyper_parameters.config)")
    model = build_codec({k: config[k] for k in CODEC_KEYS if k in config})
    prefix = "generator."
    model.load_state_dict({k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)})
    return model.eval()


def resynthesize(model: Codec, data_dir: str | Path, wav_dir: Path) -> dict[str, list[np.ndarray]]:
    """Encode and decode every utterance of `data_dir` into `wav_dir/<utt>.wav` + `wav_dir/wav.scp`.

    Returns:
        the token streams of the codec, {stream: [codes per utt]} (BiCodec: semantic (T,), global (1, 32)).
    """
    data = DataDir.load(data_dir)
    tokens: dict[str, list[np.ndarray]] = {name: [] for name in model.token_streams}
    lines = []
    with torch.inference_mode():
        for utt in data.utt_ids:
            audio = model.prepare(data.load_audio(utt, model.sample_rate), model.sample_rate, what=utt)
            codes = model.encode(torch.from_numpy(audio)[None])
            wav = model.decode(codes)[0, 0].numpy()
            for name in tokens:
                tokens[name].append(codes[name][0].numpy())
            write_wav(wav_dir / f"{utt}.wav", wav, model.sample_rate)
            lines.append(f"{utt} {(wav_dir / f'{utt}.wav').resolve()}\n")
    (wav_dir / "wav.scp").write_text("".join(lines), encoding="utf-8")
    return tokens


def score_audio(ref_dir: str | Path | None, gen_scp: str | Path, out_dir: Path, asr_beam_size: int = 5,
                metrics: Sequence[str] = CURVE_METRICS, meta_lst: str | Path | None = None,
                protocol: str = "codec learning curve") -> dict[str, float]:
    """Score `gen_scp` against `ref_dir` (or the texts and prompts of `meta_lst`) with `metrics` into `out_dir` (a
    score dir); returns metric means."""
    names = list(metrics)
    scorers = build_scorers(names, EvalOptions(asr_beam_size=asr_beam_size, asr_threads=1))
    items = build_items(str(ref_dir) if ref_dir else None, str(gen_scp), None, str(meta_lst) if meta_lst else None)
    results = run_scorers(items, scorers)
    require_scores(results)
    meta = {"models": {c: s.model_version() for s in scorers for c in s.columns},
            "protocol": f"{protocol} (beam {asr_beam_size})", "ref_dir": str(ref_dir), "meta_lst": str(meta_lst),
            "gen_scp": str(gen_scp)}
    summary = write_results(out_dir, results, column_info(names), meta)
    return {k: v["mean"] for k, v in summary["metrics"].items()}


def score_checkpoint(ckpt: Path, data_dir: str | Path, out_dir: Path, asr_beam_size: int = 5) -> dict[str, float]:
    """Resynthesise and score one checkpoint into `out_dir` (skipped when its `curve_point.json` exists)."""

    def make(new: Path) -> dict[str, float]:
        model = load_checkpoint_codec(ckpt)
        tokens = resynthesize(model, data_dir, new / "wav")
        figures = score_audio(data_dir, new / "wav" / "wav.scp", new / "scores", asr_beam_size)
        for name, info in model.token_streams.items():
            figures[f"{name}_perplexity"] = stream_usage(tokens[name], info.codebook_size)["perplexity"]
        return figures

    return cached_point(out_dir, [str(data_dir)], make, "wav/wav.scp")


def cached_point(out_dir: Path, inputs: Sequence[str], make: Callable[[Path], dict[str, Any]],
                 scp: str) -> dict[str, Any]:
    """The figures of one curve point: read from `<out_dir>/curve_point.json`, else made once by `make(dir)` in a
    dir built aside and moved into place (`replace_dir` over `inputs`), whose wav.scp at `scp` (relative) is then
    repointed (`repoint_scp`)."""
    done = out_dir / "curve_point.json"
    if done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    with replace_dir(out_dir, list(inputs), True, "--out_dir") as new:
        figures = make(Path(new))
        (Path(new) / "curve_point.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    repoint_scp(out_dir / scp)
    return figures


def repoint_scp(scp: Path) -> None:
    """Point every line of a wav.scp at `<utt>.wav` beside it: after `replace_dir` moved the finished dir into
    place, the absolute paths written inside the temp dir are stale."""
    wav_dir = scp.parent.resolve()
    scp.write_text("".join(f"{line.split()[0]} {wav_dir / (line.split()[0] + '.wav')}\n"
                           for line in scp.read_text(encoding="utf-8").splitlines()), encoding="utf-8")


def write_curve(rows: Sequence[dict[str, Any]], path: Path, columns: Sequence[str] = CURVE_COLUMNS) -> None:
    """curve.tsv: checkpoint, batches, minutes and `columns` per row ("-" where missing)."""
    header = ("checkpoint", "batches", "minutes", *columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)]
    for row in rows:
        cells = ["-" if row.get(k) is None else f"{row[k]:.4f}" if isinstance(row[k], float) else str(row[k])
                 for k in header]
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_curve(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a curve.tsv (numbers as floats, "-" as None)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        row: dict[str, Any] = {}
        for key, cell in zip(header, line.split("\t")):
            row[key] = cell if key == "checkpoint" else (None if cell == "-" else float(cell))
        rows.append(row)
    return rows


def plot_curves(curves: dict[str, list[dict[str, Any]]], png: Path, ground_truth: dict[str, float] | None = None,
                title: str = "", sim_key: str = "sim", sim_label: str = "SIM to the original",
                wer_target: float = 1.3, sim_target: float = 0.85, extra: Sequence[tuple[str, str]] = ()) -> None:
    """WER and SIM (`sim_key`) against training minutes, one line per run (`name -> curve rows`); the ground truth
    dashed, the targets (`wer_target` x its WER, `sim_target`) dotted; one more panel per `extra` (column, label)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("wer", "WER (Whisper tiny.en, beam 5)"), (sim_key, sim_label), *extra]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    for ax, (key, label) in zip(axes, panels):
        for name, rows in curves.items():
            points = [(r["minutes"], r[key]) for r in rows if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=name)
        if key == "wer" and ground_truth and "wer" in ground_truth:
            ax.axhline(ground_truth["wer"], color="k", linestyle="--", label="eSpeak ground truth")
            ax.axhline(wer_target * ground_truth["wer"], color="grey", linestyle=":",
                       label=f"target: {wer_target:g} x ground truth")
        if key == sim_key:
            if ground_truth and sim_key in ground_truth and sim_key != "sim":
                ax.axhline(ground_truth[sim_key], color="k", linestyle="--", label="eSpeak ground truth")
            ax.axhline(sim_target, color="grey", linestyle=":", label=f"target {sim_target:g}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_xlabel("training minutes (2 shared CPU cores)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)


# ---- the command lines of both curve verbs (tts_codec.bin.codec_learning_curve, lm_learning_curve) ----

def add_curve_arguments(parser: argparse.ArgumentParser, run_help: str) -> None:
    """The options every learning-curve verb takes: runs, names, output, ASR beam and checkpoint selection."""
    parser.add_argument("--run_dir", action="append", required=True, help=run_help)
    parser.add_argument("--name", action="append", default=None, help="label of each --run_dir (default: its name)")
    parser.add_argument("--out_dir", required=True, help="where scores, curve.tsv files and the PNG go")
    parser.add_argument("--asr_beam_size", type=positive_int, default=5, help="Whisper beam (5 for reported numbers)")
    parser.add_argument("--max_checkpoints", type=positive_int, default=None,
                        help="score at most this many checkpoints per run, evenly spaced (default: all)")
    parser.add_argument("--score_missing", type=str2bool, default=True,
                        help="false: only tabulate and plot the checkpoints scored before (no new scoring)")
    parser.add_argument("--title", default="", help="plot title")
    parser.add_argument("--batches_per_second", type=positive_float, default=None,
                        help="x axis = batches / this rate (a rate measured on an unshared machine) instead of the "
                             "checkpoint file times, which a shared machine stretches")


def runs_of(args: argparse.Namespace) -> dict[str, list[tuple[Path, int, float]]]:
    """name -> checkpoints of every --run_dir (named by --name or the dir name); bad runs fail before any work."""
    names = args.name or [Path(r).name for r in args.run_dir]
    if len(names) != len(args.run_dir):
        raise UserError(f"--name given {len(names)} times for {len(args.run_dir)} --run_dir")
    return {name: run_checkpoints(run) for name, run in zip(names, args.run_dir)}


def ground_truth_means(gt_dir: Path, inputs: Sequence[str], score: Callable[[Path], Any]) -> dict[str, float]:
    """Metric means of the ground-truth score dir `gt_dir`, made once by `score(new dir)`."""
    if not (gt_dir / "summary.json").is_file():
        with replace_dir(gt_dir, list(inputs), True, "--out_dir") as new:
            score(Path(new))
    summary = json.loads((gt_dir / "summary.json").read_text(encoding="utf-8"))
    return {k: v["mean"] for k, v in summary["metrics"].items()}


def tabulate_runs(runs: dict[str, list[tuple[Path, int, float]]], args: argparse.Namespace, out: Path,
                  score: Callable[[Path, Path], dict[str, Any]], columns: Sequence[str]) -> dict[str, list[dict]]:
    """Score each run's (selected) checkpoints with `score(checkpoint, point dir)` and write `<out>/<name>/curve.tsv`
    with `columns` and the `<stream>_perplexity` figures the points report; returns name -> curve rows."""
    curves = {}
    for name, checkpoints in runs.items():
        if args.max_checkpoints and len(checkpoints) > args.max_checkpoints:
            step = (len(checkpoints) - 1) / (args.max_checkpoints - 1) if args.max_checkpoints > 1 else 0
            checkpoints = [checkpoints[round(i * step)] for i in range(args.max_checkpoints)]
        rows, row_columns = [], list(columns)
        for ckpt, batches, minutes in checkpoints:
            if not args.score_missing and not (out / name / ckpt.stem / "curve_point.json").is_file():
                continue
            log.info("%s: scoring %s (%.1f min)", name, ckpt.name, minutes)
            figures = score(ckpt, out / name / ckpt.stem)
            if args.batches_per_second:
                minutes = batches / args.batches_per_second / 60
            row_columns += sorted(k for k in figures if k.endswith("_perplexity") and k not in row_columns)
            rows.append({"checkpoint": ckpt.stem, "batches": batches, "minutes": round(minutes, 2),
                         **{k: figures.get(k) for k in row_columns}})
        write_curve(rows, out / name / "curve.tsv", row_columns)
        curves[name] = rows
    return curves
