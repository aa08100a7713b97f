"""Recipe stage 9 (MARS6): preference fine-tuning. Samples `--num_candidates` outputs per prompt of a meta.lst,
scores them with the evaluation suite (offline Whisper WER, speaker similarity), keeps best/worst as chosen/rejected
(`<out_dir>/pairs.pt`, reused on a rerun), then trains the model with ORPO and exports `<out_dir>/model`.

Resumable like stage 8 (`checkpoints/last.ckpt`). The learning rate is constant after a short warm-up.
`--config FILE` (YAML, e.g. egs/mini/tts1/conf/mars6_orpo_tiny.yaml) sets any of the options below by name; flags
on the command line win.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, number_type, positive_float, positive_int, run_main, str2bool
from tts_codec.errors import UserError

log = logging.getLogger("mars6_preference")


def _config_defaults(parser: argparse.ArgumentParser, path: str) -> dict[str, str]:
    """The options of a YAML file as parser defaults (strings, so that argparse checks them like flags)."""
    from tts_codec.config import load_config

    known = {a.dest for a in parser._actions if not a.required} - {"help", "config"}
    values = load_config(path)
    if unknown := sorted(set(values) - known):
        raise UserError(f"--config {path}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()
            if v is not None}


def main(argv: Sequence[str] | None = None) -> int:
    p = new_parser(__doc__)
    p.add_argument("--config", default=None, help="YAML with any of these options by name (flags win)")
    p.add_argument("--lm_dir", required=True, help="stage-8 MARS6 model dir (exp/lm_<tag>/model)")
    p.add_argument("--codec_dir", required=True, help="codec model dir of the tokens")
    p.add_argument("--meta_lst", required=True, help="prompts: utt|prompt_text|prompt_wav|infer_text")
    p.add_argument("--out_dir", required=True, help="e.g. exp/lm_<tag>_orpo")
    p.add_argument("--num_candidates", type=number_type(int, low=2), default=4, help="samples per prompt")
    p.add_argument("--top_p", type=number_type(float, low=0, high=1, low_open=True), default=0.8,
                   help="candidate sampling (wider than inference's 0.2, so the candidates differ)")
    p.add_argument("--asr_model_dir", default=None, help="faster-whisper dir (default: the bundled tiny.en)")
    p.add_argument("--speaker_model_dir", default=None, help="local WavLM-SV dir (default: the model's extractor)")
    p.add_argument("--orpo_lambda", type=positive_float, default=0.1, help="weight of the odds-ratio term")
    p.add_argument("--lr", type=positive_float, default=1e-5)
    p.add_argument("--max_steps", type=positive_int, default=100, help="ORPO optimiser steps")
    p.add_argument("--batch_size", type=positive_int, default=4, help="pairs per step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--ngpu", type=number_type(int, low=0), default=0)
    p.add_argument("--overwrite", type=str2bool, default=False, help="discard existing checkpoints")
    args = p.parse_args(argv)
    if args.config:
        p.set_defaults(**_config_defaults(p, args.config))
        args = p.parse_args(argv)

    from tts_codec.config import load_config
    from tts_codec.lm.mars6.model_dir import load_model_dir
    from tts_codec.train.registry import fit_from_config
    from tts_codec.tts.mars6 import Mars6Options, Mars6TTS
    from tts_codec.tts.mars6_preference import CandidateScorer, build_pairs, save_pairs

    load_model_dir(args.lm_dir)  # a broken model dir fails before any sampling
    pairs_file = Path(args.out_dir) / "pairs.pt"
    if not pairs_file.is_file():
        tts = Mars6TTS.from_dirs(args.codec_dir, args.lm_dir, args.device, args.speaker_model_dir,
                                 Mars6Options(top_p=args.top_p))
        pairs = build_pairs(tts, args.meta_lst, args.num_candidates, CandidateScorer(args.asr_model_dir), args.seed)
        save_pairs(pairs, pairs_file)
        log.info("%s: %d preference pairs", pairs_file, len(pairs))
    config = load_config(Path(args.lm_dir) / "config.yaml")
    config.update({"task": "mars6_orpo", "init_lm_dir": str(args.lm_dir), "orpo_lambda": args.orpo_lambda,
                   "seed": args.seed, "scheduler": "warmuplr",
                   "scheduler_conf": {"warmup_steps": 10, "down_steps": 1, "max_lr": args.lr, "min_lr": args.lr,
                                      "init_lr": 0.0},
                   "data": {**(config.get("data") or {}), "batch_size": args.batch_size},
                   "trainer": {**(config.get("trainer") or {}), "val_check_interval": args.max_steps,
                               "checkpoint_every_n_steps": max(1, args.max_steps // 2)}})
    fit_from_config(config, args.out_dir, pairs_file, None, ngpu=args.ngpu, max_steps=args.max_steps,
                    overwrite=args.overwrite)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
