"""Spark LM learning curves: clone a list with every saved checkpoint of one or more LM runs, score WER and SIM-o,
and plot them against training minutes (tts_codec.tts.lm_curve).

Example (the mini recipe's dev voices, seen in training, sentences not):
  python -m tts_codec.bin.lm_learning_curve --run_dir exp/lm_spark_lm_mini --name mini \
      --codec_dir exp/codec_bicodec_tiny_30min/model --meta_lst dump/eval/dev_clone/meta.lst --max_utts 14 \
      --codes_dir dump/codes/bicodec_tiny_30min/dev --out_dir exp/lm_curves
writes `<out_dir>/<name>/curve.tsv` (one row per checkpoint: WER, SIM-o and, with --codes_dir, how much the LM reads
the text), `<out_dir>/ground_truth/` (the list's target audio, scored the same way) and
`<out_dir>/lm_learning_curve.png`. Finished checkpoints are not scored again on a rerun.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import atomic_write
from tts_codec.cli import new_parser, non_negative_int, positive_int, run_main
from tts_codec.errors import UserError
from tts_codec.eval import learning_curve as lc
from tts_codec.eval.protocols import read_meta_lst
from tts_codec.tts.generation import SamplingConfig


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
    lc.add_curve_arguments(parser, "train_lm output dir (repeatable)")
    parser.add_argument("--codec_dir", required=True, help="the codec whose tokens the LM learnt (its model dir)")
    parser.add_argument("--meta_lst", required=True, help="clone list (utt|prompt_text|prompt_wav|infer_text|wav)")
    parser.add_argument("--max_utts", type=non_negative_int, default=0,
                        help="speak at most this many list lines, spread over it (0: all)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed (as tts_decode)")
    parser.add_argument("--max_new_tokens", type=positive_int, default=SamplingConfig.max_new_tokens,
                        help="cap on generated tokens per utterance (as tts_decode)")
    parser.add_argument("--codes_dir", default=None,
                        help="stage-6 tokens of the list's targets (e.g. dump/codes/<codec tag>/dev): adds the "
                             "teacher-forced text_gain and own_text_loss columns (does the LM read the text?)")
    args = parser.parse_args(argv)
    runs = lc.runs_of(args)
    if not Path(args.codec_dir).is_dir():
        raise UserError(f"--codec_dir {args.codec_dir}: no such directory")
    entries = read_meta_lst(args.meta_lst, strict=True)  # a bad list (or a missing wav) fails before any work
    if not all(e.gt_wav for e in entries):
        raise UserError(f"--meta_lst {args.meta_lst}: every line needs its target wav (5th field) for the ground "
                        "truth row (tts_codec.bin.make_eval_list clone writes it)")
    tokens = None
    if args.codes_dir:
        from tts_codec.data.token_file import load_tokens

        tokens = load_tokens(args.codes_dir)
        have = set(tokens.utt_ids)
        missing = [e.utt for e in entries if e.utt not in have]
        if missing:
            raise UserError(f"--codes_dir {args.codes_dir}: no tokens for {len(missing)} list target(s), e.g. "
                            f"{missing[0]}")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta_lst = subset_list(args.meta_lst, args.max_utts, out)

    from tts_codec.tts.lm_curve import LM_CURVE_COLUMNS, score_clones, score_lm_checkpoint

    def score_ground_truth(new: Path) -> None:
        scp = new / "wav.scp"
        scp.write_text("".join(f"{e.utt} {e.gt_wav}\n" for e in read_meta_lst(str(meta_lst))), encoding="utf-8")
        score_clones(meta_lst, scp, new, args.asr_beam_size)

    ground_truth = lc.ground_truth_means(out / "ground_truth", [str(meta_lst)], score_ground_truth)
    sampling = SamplingConfig(seed=args.seed, max_new_tokens=args.max_new_tokens)
    curves = lc.tabulate_runs(runs, args, out, lambda ckpt, point: score_lm_checkpoint(
        ckpt, args.codec_dir, meta_lst, point, args.asr_beam_size, sampling, tokens), LM_CURVE_COLUMNS)
    lc.plot_curves(curves, out / "lm_learning_curve.png", ground_truth, args.title, sim_key="sim_o",
                   sim_label="SIM-o to the prompt (resemblyzer)", wer_target=2.0, sim_target=0.75,
                   extra=[("text_gain", "text gain (nats per semantic token)")] if tokens else [])
    print(f"wrote {out / 'lm_learning_curve.png'} and curve.tsv per run; ground truth WER "
          f"{ground_truth.get('wer', float('nan')):.3f}, SIM-o {ground_truth.get('sim_o', float('nan')):.3f}",
          file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
