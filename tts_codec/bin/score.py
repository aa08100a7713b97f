"""Score generated or resynthesised audio: per-utterance metrics, failures, summary (tts_codec.eval.score_dir).

The score dir is built aside and swapped in only when complete; a run in which every utterance failed every
metric is an error (nothing is written).

Example (one split of an nj-way run; merge with tts_codec.bin.merge_scores):
  python -m tts_codec.bin.score --metrics wer,sim,pesq,stoi,mel,dnsmos --ref_dir data/test/split4/2 \
      --gen_scp exp/codec/test/wav.scp --out_dir exp/codec/test/scores.parts/part.2
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import refuse_input_as_output, replace_dir
from tts_codec.cli import add_overwrite, new_parser, positive_int, run_main
from tts_codec.devices import resolve_device
from tts_codec.errors import UserError
from tts_codec.eval.asr import COMPUTE_TYPES, REPORT_BEAM
from tts_codec.eval.normalize import NORMALIZERS
from tts_codec.eval.eer import read_trials, score_trials
from tts_codec.eval.protocols import audio_table, build_items
from tts_codec.eval.registry import SCORERS, build_scorers, column_info, parse_metrics
from tts_codec.eval.score_dir import refuse_foreign_files, write_results
from tts_codec.eval.scoring import SEED_PROTOCOLS, EvalOptions, load_checked, require_scores, run_scorers
from tts_codec.eval.speaker import SPK_SR, build_speaker_encoder
from tts_codec.eval.wer import default_text_norm

INPUT_FLAGS = ("ref_dir", "gen_scp", "gen_dir", "meta_lst", "prompt_scp", "prompt_recon_scp", "trials", "enroll_scp",
               "timing_file", "attr_boundaries", "syllable_dict", "hyp_file")


def get_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    p.add_argument("--metrics", default="wer,sim,pesq,stoi,mel,dnsmos", help=f"comma list of {','.join(SCORERS)}")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--ref_dir", help="data dir: ground-truth wav.scp/segments, text, utt2{pitch,speed,gender}")
    p.add_argument("--gen_scp", help="`utt wav` list of the audio under test (or give --gen_dir)")
    p.add_argument("--gen_dir", help="directory of <utt>.wav (Seed-TTS-eval convention; or give --gen_scp)")
    p.add_argument("--meta_lst", help="Seed-TTS-eval list utt|prompt_text|prompt_wav|infer_text[|gt_wav] (or the "
                   "official short forms utt|infer_text, utt|infer_text|prompt_wav)")
    p.add_argument("--prompt_scp", help="`utt prompt_wav` for sim_o")
    p.add_argument("--prompt_recon_scp", help="`utt reconstructed_prompt_wav` for sim_r")
    p.add_argument("--trials", help="`enroll test target|nontarget` list: EER (enroll from --enroll_scp/ref, test from gen)")
    p.add_argument("--enroll_scp", help="`id wav` of enrolment ids (default: --ref_dir audio)")
    p.add_argument("--protocol", default="", help="label stored in summary.json; `seed` (or `seed-tts-eval`) also "
                   "applies the official Seed-TTS-eval rules (normaliser, failures, greedy 30 s ASR; see README)")
    p.add_argument("--text_norm", default="", choices=["", *NORMALIZERS],
                   help="WER normaliser (default: seed-tts under --protocol seed, simple otherwise)")
    p.add_argument("--asr_model_dir", help="local CTranslate2 Whisper dir (default: bundled tiny.en, a proxy)")
    p.add_argument("--asr_beam", "--asr_beam_size", dest="asr_beam_size", type=positive_int, default=None,
                   help=f"Whisper beam size (default: 1 = the official greedy decoding under --protocol seed, "
                   f"else {REPORT_BEAM} for reported numbers; evaluation.md)")
    p.add_argument("--asr_language", help="forced ASR language (default: --lang)")
    p.add_argument("--asr_compute_type", choices=COMPUTE_TYPES,
                   help="CTranslate2 precision (default: float16 on CUDA, int8 on CPU; the official is float32)")
    p.add_argument("--asr_threads", type=positive_int, default=2)
    p.add_argument("--hyp_file", help="`utt transcript` lines to score instead of running the ASR (e.g. the "
                   "official Paraformer-zh or Whisper-large-v3 output); the generated wav must still be readable")
    p.add_argument("--speaker_model_dir", help="local WavLMForXVector dir, or the official Seed-TTS-eval "
                   "wavlm_large_finetune.pth file (default: resemblyzer, a proxy)")
    p.add_argument("--device", default="cpu", help="device of the ASR and speaker models: cpu, cuda or cuda:N")
    p.add_argument("--attr_boundaries", help="JSON overriding the pitch (mel) / speed (syll/s) level boundaries")
    p.add_argument("--syllable_dict", help="ARPAbet dictionary `WORD PH1 PH2 ...` for syllable counts")
    p.add_argument("--lang", default="en",
                   help="language of the texts: en = WER over words, zh = the official CER (needs a multilingual "
                   "--asr_model_dir); also of the speed boundaries")
    p.add_argument("--timing_file", help="`utt seconds` of synthesis compute, for rtf")
    p.add_argument("--batch_size", type=positive_int, default=16)
    p.add_argument("--nj", type=positive_int, default=1, help="split the utterance list into nj parts ...")
    p.add_argument("--nj_part", type=positive_int, default=1, help="... and score part k (1-based)")
    add_overwrite(p)
    return p


def check_args(args: argparse.Namespace) -> None:
    """Refuse option combinations that cannot both apply and paths that do not exist, before any work."""
    if args.gen_scp and args.gen_dir:
        raise UserError("give --gen_scp or --gen_dir, not both (which audio should be scored?)")
    if not (args.gen_scp or args.gen_dir):
        raise UserError("give --gen_scp or --gen_dir (the audio to score)")
    if args.nj_part > args.nj:
        raise UserError(f"--nj_part {args.nj_part} must be in 1..--nj {args.nj}")
    if args.speaker_model_dir and not Path(args.speaker_model_dir).exists():
        raise UserError(f"--speaker_model_dir {args.speaker_model_dir}: no such directory or file")
    for flag in ("ref_dir", "gen_dir", "asr_model_dir"):
        path = getattr(args, flag)
        if path and not Path(path).is_dir():
            raise UserError(f"--{flag} {path}: no such directory")
    for flag in INPUT_FLAGS:
        path = getattr(args, flag)
        if path and flag not in ("ref_dir", "gen_dir") and not Path(path).is_file():
            raise UserError(f"--{flag} {path}: no such file")
    args.device = resolve_device(args.device)
    if args.asr_beam_size is None:
        args.asr_beam_size = 1 if args.protocol.strip().lower() in SEED_PROTOCOLS else REPORT_BEAM


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    names = parse_metrics(args.metrics)
    check_args(args)
    inputs = [getattr(args, flag) for flag in INPUT_FLAGS if getattr(args, flag)]
    refuse_input_as_output(args.out_dir, inputs, "--out_dir")
    refuse_foreign_files(args.out_dir, "--out_dir")
    with replace_dir(args.out_dir, inputs, args.overwrite, "--out_dir") as new:
        options = EvalOptions(**{k: getattr(args, k) for k in EvalOptions.__dataclass_fields__})
        scorers = build_scorers(names, options)
        items = build_items(args.ref_dir, args.gen_scp, args.gen_dir, args.meta_lst, args.prompt_scp,
                            args.prompt_recon_scp, args.nj, args.nj_part)
        results = run_scorers(items, scorers, args.batch_size)
        require_scores(results)
        models = {col: s.model_version() for s in scorers for col in s.columns}
        trials = _score_trials(args, items, options, models) if args.trials else []
        meta = {"models": models, "protocol": args.protocol, "ref_dir": args.ref_dir,
                "gen_scp": args.gen_scp or args.gen_dir, "meta_lst": args.meta_lst, "metrics_requested": names,
                "rules": "seed-tts-eval" if options.seed_rules else "toolkit", "lang": args.lang,
                "text_norm": default_text_norm(options)}
        summary = write_results(new, results, column_info(names), meta, trials)
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
    encoder = build_speaker_encoder(options.speaker_model_dir, options.device)
    models["eer"] = encoder.version()
    return score_trials(trials, enroll, mine, lambda spec: encoder.embed(load_checked(spec, SPK_SR)))


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
