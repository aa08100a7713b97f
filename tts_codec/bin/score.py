"""Score generated or resynthesised audio: per-utterance metrics, failures, summary (tts_codec.eval.score_dir).

Example (one split of an nj-way run; merge with tts_codec.bin.merge_scores):
  python -m tts_codec.bin.score --metrics wer,sim,pesq,stoi,mel,dnsmos --ref_dir data/test/split4/2 \
      --gen_scp exp/codec/test/wav.scp --out_dir exp/codec/test/scores/part2
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from tts_codec.atomic import refuse_to_clobber
from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.errors import UserError
from tts_codec.eval.eer import read_trials, score_trials
from tts_codec.eval.protocols import audio_table, build_items
from tts_codec.eval.registry import SCORERS, build_scorers, column_info, parse_metrics
from tts_codec.eval.score_dir import write_results
from tts_codec.eval.scoring import EvalOptions, load_checked, run_scorers
from tts_codec.eval.speaker import SPK_SR, build_speaker_encoder


def get_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    p.add_argument("--metrics", default="wer,sim,pesq,stoi,mel,dnsmos", help=f"comma list of {','.join(SCORERS)}")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--ref_dir", help="data dir: ground-truth wav.scp/segments, text, utt2{pitch,speed,gender}")
    p.add_argument("--gen_scp", help="`utt wav` list of the audio under test")
    p.add_argument("--gen_dir", help="directory of <utt>.wav (Seed-TTS-eval convention)")
    p.add_argument("--meta_lst", help="Seed-TTS-eval list utt|prompt_text|prompt_wav|infer_text[|gt_wav]")
    p.add_argument("--prompt_scp", help="`utt prompt_wav` for sim_o")
    p.add_argument("--prompt_recon_scp", help="`utt reconstructed_prompt_wav` for sim_r")
    p.add_argument("--trials", help="`enroll test target|nontarget` list: EER (enroll from --enroll_scp/ref, test from gen)")
    p.add_argument("--enroll_scp", help="`id wav` of enrolment ids (default: --ref_dir audio)")
    p.add_argument("--protocol", default="", help="label stored in summary.json (e.g. seed-tts-eval, codec, ears)")
    p.add_argument("--asr_model_dir", help="local CTranslate2 Whisper dir (default: bundled tiny.en, a proxy)")
    p.add_argument("--asr_beam_size", type=int, default=1)
    p.add_argument("--asr_language", default="en")
    p.add_argument("--asr_threads", type=int, default=2)
    p.add_argument("--speaker_model_dir", help="local WavLMForXVector dir (default: resemblyzer, a proxy)")
    p.add_argument("--attr_boundaries", help="JSON overriding the pitch (mel) / speed (syll/s) level boundaries")
    p.add_argument("--syllable_dict", help="ARPAbet dictionary `WORD PH1 PH2 ...` for syllable counts")
    p.add_argument("--lang", default="en", help="language of the speed boundaries")
    p.add_argument("--timing_file", help="`utt seconds` of synthesis compute, for rtf")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--nj", type=int, default=1, help="split the utterance list into nj parts ...")
    p.add_argument("--nj_part", type=int, default=1, help="... and score part k (1-based)")
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    names = parse_metrics(args.metrics)
    if not (args.gen_scp or args.gen_dir):
        raise UserError("give --gen_scp or --gen_dir (the audio to score)")
    refuse_to_clobber(args.out_dir, args.overwrite, "--out_dir")
    options = EvalOptions(**{k: getattr(args, k) for k in EvalOptions.__dataclass_fields__})
    scorers = build_scorers(names, options)
    items = build_items(args.ref_dir, args.gen_scp, args.gen_dir, args.meta_lst, args.prompt_scp,
                        args.prompt_recon_scp, args.nj, args.nj_part)
    results = run_scorers(items, scorers, args.batch_size)
    columns = column_info(names)
    models = {col: s.model_version() for s in scorers for col in s.columns}
    trials = _score_trials(args, items, options, models) if args.trials else []
    meta = {"models": models, "protocol": args.protocol, "ref_dir": args.ref_dir, "gen_scp": args.gen_scp or args.gen_dir,
            "meta_lst": args.meta_lst, "metrics_requested": names}
    summary = write_results(args.out_dir, results, columns, meta, trials)
    print(f"scored {summary['n_utts']} utterances into {args.out_dir}; "
          f"{summary['n_utts_with_failures']} had at least one failure (see failures.tsv)", file=sys.stderr)
    return 0


def _score_trials(args, items, options: EvalOptions, models: dict) -> list:
    """EER trials whose test id is in this part; enrolment audio from --enroll_scp or the ref dir."""
    from tts_codec.data.datadir import DataDir
    from tts_codec.data.table import read_table

    mine = {i.utt: i.gen for i in items if i.gen is not None}
    part = {i.utt for i in items}
    trials = [t for t in read_trials(args.trials) if t.test in part]
    enroll = read_table(args.enroll_scp) if args.enroll_scp else audio_table(DataDir.load(args.ref_dir)) if args.ref_dir else {}
    encoder = build_speaker_encoder(options.speaker_model_dir)
    models["eer"] = encoder.version()
    return score_trials(trials, enroll, mine, lambda spec: encoder.embed(load_checked(spec, SPK_SR)))


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
