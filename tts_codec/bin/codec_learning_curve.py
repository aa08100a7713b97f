"""Codec learning curves: score every saved checkpoint of one or more training runs on a test set, and plot WER
and SIM against training minutes (tts_codec.eval.learning_curve).

Example:
  python -m tts_codec.bin.codec_learning_curve --run_dir exp/codec_bicodec_tiny --name tiny \
      --data_dir dump/raw/test --out_dir exp/curves
writes `<out_dir>/<name>/curve.tsv` (one row per checkpoint), `<out_dir>/ground_truth/` (the eSpeak audio itself,
scored the same way) and `<out_dir>/learning_curve.png`. Finished checkpoints are not scored again on a rerun.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, run_main
from tts_codec.errors import UserError
from tts_codec.eval import learning_curve as lc


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    lc.add_curve_arguments(parser, "train_codec output dir (repeatable)")
    parser.add_argument("--data_dir", required=True, help="test data dir (16 kHz wav.scp + text)")
    args = parser.parse_args(argv)
    runs = lc.runs_of(args)
    if not Path(args.data_dir).is_dir():
        raise UserError(f"--data_dir {args.data_dir}: no such directory")
    out = Path(args.out_dir)
    ground_truth = lc.ground_truth_means(
        out / "ground_truth", [args.data_dir],
        lambda new: lc.score_audio(args.data_dir, Path(args.data_dir) / "wav.scp", new, args.asr_beam_size))
    curves = lc.tabulate_runs(runs, args, out, lambda ckpt, point: lc.score_checkpoint(
        ckpt, args.data_dir, point, args.asr_beam_size), lc.CURVE_COLUMNS)
    lc.plot_curves(curves, out / "learning_curve.png", ground_truth, args.title)
    print(f"wrote {out / 'learning_curve.png'} and curve.tsv per run; ground truth WER "
          f"{ground_truth.get('wer', float('nan')):.3f}", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
