"""LM learning curves (Spark LM and MARS6 runs): clone a list with every saved checkpoint of one or more train_lm
runs, score WER and SIM-o, and plot them against training minutes (tts_codec.tts.lm_curve).

The family comes from each run's config.yaml (`lm: spark` or `lm: mars6`); one call takes runs of one family (one
--codec_dir serves them all). Example (the mini recipe's dev voices, seen in training, sentences not):
  python -m tts_codec.bin.lm_learning_curve --run_dir exp/lm_spark_lm_mini --name mini \
      --codec_dir exp/codec_bicodec_tiny_30min/model --meta_lst dump/eval/dev_clone/meta.lst --max_utts 14 \
      --codes_dir dump/codes/bicodec_tiny_30min/dev --out_dir exp/lm_curves
MARS6 (SNAC codec; stage 10's mars6_decode sampling, --deep_clone_mode none as the recipe's stage 10; the
tokenizer and the speaker extractor come from the run's config, or --tokenizer_dir / --speaker_model_dir):
  python -m tts_codec.bin.lm_learning_curve --run_dir exp/lm_mars6_mini --name mars6_mini \
      --codec_dir exp/codec_snac_mini/model --meta_lst dump/mars6/eval/dev_clone/meta.lst --max_utts 14 \
      --codes_dir dump/mars6/codes/snac_mini/dev --xvector_scp dump/mars6/xvector/dev/xvector.scp \
      --out_dir exp/lm_curves_mars6
(a dev clone list: `python -m tts_codec.bin.make_eval_list clone --data_dir dump/mars6/raw/dev --out_dir
dump/mars6/eval/dev_clone`, as stage 10 makes the test sets'). Writes `<out_dir>/<name>/curve.tsv` (one row per
checkpoint: WER, SIM-o and, with --codes_dir, how much the LM reads the text), `<out_dir>/ground_truth/` (the list's
target audio, scored the same way) and `<out_dir>/lm_learning_curve.png`. Finished checkpoints are not scored
again on a rerun.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

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


#: options only one family takes (a run of the other family refuses them)
MARS6_ONLY = ("tokenizer_dir", "speaker_model_dir", "xvector_scp", "deep_clone_mode")
SPARK_ONLY = ("max_new_tokens",)


def run_families(runs: dict, args) -> str:
    """The one LM family of every --run_dir (and every checkpoint not yet scored, by its saved config); options of
    the other family are refused."""
    from tts_codec.tts.lm_curve import checkpoint_state, run_family

    families = {run_dir: run_family(run_dir) for run_dir in args.run_dir}
    if len(set(families.values())) > 1:
        raise UserError("--run_dir: runs of several LM families in one call ("
                        + ", ".join(f"{r}: {f}" for r, f in families.items())
                        + "); one --codec_dir serves one family: make one curve per family")
    family = next(iter(families.values()))
    for option in SPARK_ONLY if family == "mars6" else MARS6_ONLY:
        if getattr(args, option) is not None:
            raise UserError(f"--{option}: only for {'Spark LM' if family == 'mars6' else 'MARS6'} runs; "
                            f"{args.run_dir[0]} is a {family} run")
    out = Path(args.out_dir)
    for name, checkpoints in runs.items():
        for ckpt, _, _ in checkpoints:
            if not (out / name / ckpt.stem / "curve_point.json").is_file():
                checkpoint_state(ckpt, family, mmap=True)  # a checkpoint of another run is refused now
    return family


def main(argv: Sequence[str] | None = None) -> int:
    from tts_codec.tts.mars6 import CLONE_MODES

    parser = new_parser(__doc__)
    lc.add_curve_arguments(parser, "train_lm output dir (repeatable; all of one LM family)")
    parser.add_argument("--codec_dir", required=True,
                        help="the codec whose tokens the LM learnt (its model dir: BiCodec for Spark, SNAC for MARS6)")
    parser.add_argument("--meta_lst", required=True, help="clone list (utt|prompt_text|prompt_wav|infer_text|wav)")
    parser.add_argument("--max_utts", type=non_negative_int, default=0,
                        help="speak at most this many list lines, spread over it (0: all)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="sampling seed (as tts_decode / mars6_decode)")
    parser.add_argument("--max_new_tokens", type=positive_int, default=None,
                        help=f"Spark: cap on generated tokens per utterance (as tts_decode; default "
                             f"{SamplingConfig.max_new_tokens}). MARS6 caps each chunk by its text length")
    parser.add_argument("--codes_dir", default=None,
                        help="stage-6 tokens of the list's targets (e.g. dump/codes/<codec tag>/dev, MARS6: "
                             "dump/mars6/codes/<codec tag>/dev): adds the teacher-forced text_gain and "
                             "own_text_loss columns (does the LM read the text?)")
    parser.add_argument("--tokenizer_dir", default=None,
                        help="MARS6: the stage-4 tokenizer of the runs (default: the tokenizer_dir of their config)")
    parser.add_argument("--speaker_model_dir", default=None,
                        help="MARS6: local WavLM-SV dir of the x-vectors (default: the config's speaker_embedding)")
    parser.add_argument("--xvector_scp", default=None,
                        help="MARS6 with --codes_dir: stage-3 x-vectors of the list's targets, the conditioning of "
                             "text_gain (e.g. dump/mars6/xvector/dev/xvector.scp; default: each target wav embedded "
                             "as stage 3 does)")
    parser.add_argument("--deep_clone_mode", default=None, choices=CLONE_MODES,
                        help="MARS6: as mars6_decode (default none: shallow clone, the recipe's stage-10 default)")
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
    family = run_families(runs, args)
    score = spark_scorer(args, tokens) if family == "spark" else mars6_scorer(runs, args, entries, tokens)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta_lst = subset_list(args.meta_lst, args.max_utts, out)

    from tts_codec.tts.lm_curve import LM_CURVE_COLUMNS, score_clones

    def score_ground_truth(new: Path) -> None:
        scp = new / "wav.scp"
        scp.write_text("".join(f"{e.utt} {e.gt_wav}\n" for e in read_meta_lst(str(meta_lst))), encoding="utf-8")
        score_clones(meta_lst, scp, new, args.asr_beam_size)

    ground_truth = lc.ground_truth_means(out / "ground_truth", [str(meta_lst)], score_ground_truth)
    curves = lc.tabulate_runs(runs, args, out, lambda ckpt, point: score(ckpt, meta_lst, point), LM_CURVE_COLUMNS)
    unit = "semantic token" if family == "spark" else "SNAC token"
    lc.plot_curves(curves, out / "lm_learning_curve.png", ground_truth, args.title, sim_key="sim_o",
                   sim_label="SIM-o to the prompt (resemblyzer)", wer_target=2.0, sim_target=0.75,
                   extra=[("text_gain", f"text gain (nats per {unit})")] if tokens else [])
    print(f"wrote {out / 'lm_learning_curve.png'} and curve.tsv per run; ground truth WER "
          f"{ground_truth.get('wer', float('nan')):.3f}, SIM-o {ground_truth.get('sim_o', float('nan')):.3f}",
          file=sys.stderr)
    return 0


def spark_scorer(args, tokens) -> Callable[[Path, Path, Path], dict]:
    """score(checkpoint, clone list, point dir) of a Spark LM run."""
    from tts_codec.tts.lm_curve import score_lm_checkpoint

    sampling = SamplingConfig(seed=args.seed, max_new_tokens=args.max_new_tokens or SamplingConfig.max_new_tokens)
    return lambda ckpt, meta_lst, point: score_lm_checkpoint(ckpt, args.codec_dir, meta_lst, point,
                                                             args.asr_beam_size, sampling, tokens)


def mars6_scorer(runs: dict, args, entries, tokens) -> Callable[[Path, Path, Path], dict]:
    """score(checkpoint, clone list, point dir) of MARS6 runs: what each run needs is loaded and checked now."""
    from tts_codec.tts.mars6 import Mars6Options
    from tts_codec.tts.mars6_curve import prepare_mars6_run, score_mars6_checkpoint

    options = Mars6Options(deep_clone_mode=args.deep_clone_mode or "none", seed=args.seed)
    prepared = {run_dir: prepare_mars6_run(run_dir, args.codec_dir, entries, args.tokenizer_dir,
                                           args.speaker_model_dir, options, tokens, args.xvector_scp)
                for run_dir in dict.fromkeys(args.run_dir)}
    run_of = {ckpt: prepared[run_dir] for run_dir, checkpoints in zip(args.run_dir, runs.values())
              for ckpt, _, _ in checkpoints}
    return lambda ckpt, meta_lst, point: score_mars6_checkpoint(ckpt, run_of[ckpt], meta_lst, point,
                                                                args.asr_beam_size)


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
