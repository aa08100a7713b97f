"""Spark LM learning curves: clone a list with every saved checkpoint of one or more LM runs, score WER and SIM-o,
and plot them against training minutes (tts_codec.tts.lm_curve).

Example (the mini recipe's dev voices, seen in training, sentences not):
  python -m tts_codec.bin.lm_learning_curve --run_dir exp/lm_spark_lm_mini --name mini \
      --codec_dir exp/codec_bicodec_tiny_30min/model --meta_lst dump/eval/dev_clone/meta.lst --max_utts 14 \
      --out_dir exp/lm_curves
writes `<out_dir>/<name>/curve.tsv` (one row per checkpoint), `<out_dir>/ground_truth/` (the list's target audio,
scored the same way) and `<out_dir>/lm_learning_curve.png`. Finished checkpoints are not scored again on a rerun.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import atomic_write, replace_dir
from tts_codec.cli import new_parser, non_negative_int, positive_float, positive_int, run_main, str2bool
from tts_codec.errors import UserError
from tts_codec.eval import learning_curve as lc
from tts_codec.eval.protocols import read_meta_lst
from tts_codec.tts.generation import SamplingConfig

log = logging.getLogger("lm_learning_curve")


def subset_list(meta_lst: str, max_utts: int | None, out_dir: Path) -> Path:
    """The clone list the curve speaks: `meta_lst`, or `max_utts` of its lines spread evenly over it."""
    lines = [line for line in Path(meta_lst).read_text(encoding="utf-8").splitlines() if line.strip()]
    if max_utts and len(lines) > max_utts:
        stride = len(lines) / max_utts
        lines = [lines[int(i * stride)] for i in range(max_utts)]
    path = out_dir / "meta.lst"
    text = "".join(f"{line}\n" for line in lines)
    if path.is_file() and path.read_text(encoding="utf-8") != text:
        raise UserError(f"{path} holds another list (other --meta_lst or --max_utts); use another --out_dir")
    with atomic_write(path) as handle:
        handle.write(text)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--run_dir", action="append", required=True, help="train_lm output dir (repeatable)")
    parser.add_argument("--name", action="append", default=None, help="label of each --run_dir (default: its name)")
    parser.add_argument("--codec_dir", required=True, help="the codec whose tokens the LM learnt (its model dir)")
    parser.add_argument("--meta_lst", required=True, help="clone list (utt|prompt_text|prompt_wav|infer_text[|wav])")
    parser.add_argument("--max_utts", type=non_negative_int, default=0,
                        help="speak at most this many list lines, spread over it (0: all)")
    parser.add_argument("--out_dir", required=True, help="where scores, curve.tsv files and the PNG go")
    parser.add_argument("--asr_beam_size", type=positive_int, default=5, help="Whisper beam (5 for reported numbers)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed (as tts_decode)")
    parser.add_argument("--max_new_tokens", type=positive_int, default=SamplingConfig.max_new_tokens,
                        help="cap on generated tokens per utterance (as tts_decode)")
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
    if not Path(args.codec_dir).is_dir():
        raise UserError(f"--codec_dir {args.codec_dir}: no such directory")
    entries = read_meta_lst(args.meta_lst, strict=True)  # a bad list (or a missing wav) fails before any work
    if not all(e.gt_wav for e in entries):
        raise UserError(f"--meta_lst {args.meta_lst}: every line needs its target wav (5th field) for the ground "
                        "truth row (tts_codec.bin.make_eval_list clone writes it)")
    runs = {name: lc.run_checkpoints(run) for name, run in zip(names, args.run_dir)}
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta_lst = subset_list(args.meta_lst, args.max_utts, out)

    from tts_codec.tts.lm_curve import LM_CURVE_COLUMNS, score_clones, score_lm_checkpoint

    gt_dir = out / "ground_truth"
    if not (gt_dir / "summary.json").is_file():
        with replace_dir(gt_dir, [str(meta_lst)], True, "--out_dir") as new:
            scp = Path(new) / "wav.scp"
            scp.write_text("".join(f"{e.utt} {e.gt_wav}\n" for e in read_meta_lst(str(meta_lst))), encoding="utf-8")
            score_clones(meta_lst, scp, Path(new), args.asr_beam_size)
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
            figures = score_lm_checkpoint(ckpt, args.codec_dir, meta_lst, out / name / ckpt.stem,
                                          args.asr_beam_size, SamplingConfig(seed=args.seed,
                                                                             max_new_tokens=args.max_new_tokens))
            if args.batches_per_second:
                minutes = batches / args.batches_per_second / 60
            rows.append({"checkpoint": ckpt.stem, "batches": batches, "minutes": round(minutes, 2),
                         **{k: figures.get(k) for k in LM_CURVE_COLUMNS}})
        lc.write_curve(rows, out / name / "curve.tsv", LM_CURVE_COLUMNS)
        curves[name] = rows
    lc.plot_curves(curves, out / "lm_learning_curve.png", ground_truth, args.title, sim_key="sim_o",
                   sim_label="SIM-o to the prompt (resemblyzer)", wer_target=2.0, sim_target=0.75)
    print(f"wrote {out / 'lm_learning_curve.png'} and curve.tsv per run; ground truth WER "
          f"{ground_truth.get('wer', float('nan')):.3f}, SIM-o {ground_truth.get('sim_o', float('nan')):.3f}",
          file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
