"""Codec learning curves: score every saved checkpoint of one or more training runs on a test set, and plot WER
and SIM against training minutes (tts_codec.eval.learning_curve).

Example:
  python -m tts_codec.bin.codec_learning_curve --run_dir exp/codec_bicodec_tiny --name tiny \
      --data_dir dump/raw/test --out_dir exp/curves
writes `<out_dir>/<name>/curve.tsv` (one row per checkpoint), `<out_dir>/ground_truth/` (the eSpeak audio itself,
scored the same way) and `<out_dir>/learning_curve.png`. Finished checkpoints are not scored again on a rerun.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, positive_float, positive_int, run_main, str2bool
from tts_codec.errors import UserError
from tts_codec.eval import learning_curve as lc

log = logging.getLogger("codec_learning_curve")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--run_dir", action="append", required=True, help="train_codec output dir (repeatable)")
    parser.add_argument("--name", action="append", default=None, help="label of each --run_dir (default: its name)")
    parser.add_argument("--data_dir", required=True, help="test data dir (16 kHz wav.scp + text)")
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
    args = parser.parse_args(argv)
    names = args.name or [Path(r).name for r in args.run_dir]
    if len(names) != len(args.run_dir):
        raise UserError(f"--name given {len(names)} times for {len(args.run_dir)} --run_dir")
    if not Path(args.data_dir).is_dir():
        raise UserError(f"--data_dir {args.data_dir}: no such directory")
    out = Path(args.out_dir)
    runs = {name: lc.run_checkpoints(run) for name, run in zip(names, args.run_dir)}  # fail before any work

    gt_dir = out / "ground_truth"
    if not (gt_dir / "summary.json").is_file():
        from tts_codec.atomic import replace_dir

        with replace_dir(gt_dir, [args.data_dir], True, "--out_dir") as new:
            lc.score_audio(args.data_dir, Path(args.data_dir) / "wav.scp", Path(new), args.asr_beam_size)
    summary = json.loads((gt_dir / "summary.json").read_text(encoding="utf-8"))
    ground_truth = {k: v["mean"] for k, v in summary["metrics"].items()}

    curves = {}
    for name, checkpoints in runs.items():
        if args.max_checkpoints and len(checkpoints) > args.max_checkpoints:
            step = (len(checkpoints) - 1) / (args.max_checkpoints - 1) if args.max_checkpoints > 1 else 0
            checkpoints = [checkpoints[round(i * step)] for i in range(args.max_checkpoints)]
        rows = []
        for ckpt, batches, minutes in checkpoints:
            if not args.score_missing and not (out / name / ckpt.stem / "curve_point.json").is_file():
                continue
            log.info("%s: scoring %s (%.1f min)", name, ckpt.name, minutes)
            figures = lc.score_checkpoint(ckpt, args.data_dir, out / name / ckpt.stem, args.asr_beam_size)
            if args.batches_per_second:
                minutes = batches / args.batches_per_second / 60
            rows.append({"checkpoint": ckpt.stem, "batches": batches, "minutes": round(minutes, 2),
                         **{k: figures.get(k) for k in lc.CURVE_COLUMNS}})
        lc.write_curve(rows, out / name / "curve.tsv")
        curves[name] = rows
    lc.plot_curves(curves, out / "learning_curve.png", ground_truth, args.title)
    print(f"wrote {out / 'learning_curve.png'} and curve.tsv per run; ground truth WER "
          f"{ground_truth.get('wer', float('nan')):.3f}", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
