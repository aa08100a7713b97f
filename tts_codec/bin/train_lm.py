"""Recipe stage 8: train the TTS LM (Spark-TTS: Qwen2 on BiCodec tokens) on 1 CPU, N GPUs (DDP) or N nodes.

Reads each data dir's `text`, its codec tokens from `<codes_dir>/<data dir name>/` (stage 6) and, for the
controllable objective, the stage-3 labels from `<attr_dir>/<data dir name>/` (default: the data dir). Writes
`<output_dir>/config.yaml`, `checkpoints/last.ckpt`, TensorBoard logs under `tensorboard/`, and at the end the LM
in the official Spark-TTS `LLM/` layout under `model/`. With `--resume true` a run continues exactly from
`checkpoints/last.ckpt`; `data_identity.json` records which codec made the training tokens, and a resume on the
tokens of another codec is refused (--overwrite true starts again). Steps count optimiser steps
(data.accumulate_grad_batches micro-batches each).
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, number_type, run_main, str2bool
from tts_codec.config import load_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--config", required=True, help="LM config, e.g. conf/lm/spark_official.yaml")
    parser.add_argument("--train_data", required=True, help="training data dir, e.g. dump/raw/train")
    parser.add_argument("--valid_data", default=None, help="validation data dir (none: no validation)")
    parser.add_argument("--codes_dir", required=True, help="stage-6 token root, e.g. dump/codes/bicodec_tiny")
    parser.add_argument("--attr_dir", default=None, help="stage-3 label root (default: labels in the data dirs)")
    parser.add_argument("--xvector_dir", default=None,
                        help="MARS6: stage-3 x-vector root with <set>/xvector.scp (default: --attr_dir, the data dirs)")
    parser.add_argument("--tokenizer_dir", default=None, help="stage-4 tokenizer dir (sets config tokenizer_dir)")
    parser.add_argument("--init_llm_dir", default=None,
                        help="fine-tune: Spark, an official Spark-TTS LLM/ dir; MARS6, a MARS6 model dir (stage 8's "
                             "exp/lm_<tag>/model or a packed <name>/lm, int8 too). Its weights and tokenizer are "
                             "used; MARS6 keeps its lm_conf (only cond_dropout and dropout may change)")
    parser.add_argument("--output_dir", required=True, help="experiment dir, e.g. exp/lm_spark_tiny")
    parser.add_argument("--ngpu", type=number_type(int, low=0), default=0, help="GPUs per node (0: CPU)")
    parser.add_argument("--num_nodes", type=number_type(int, low=1), default=1, help="number of nodes")
    parser.add_argument("--max_steps", type=number_type(int, low=1), default=None,
                        help="optimiser steps (default: trainer.max_steps)")
    parser.add_argument("--resume", type=str2bool, default=True, help="continue from checkpoints/last.ckpt if present")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="discard existing checkpoints and logs")
    parser.add_argument("--seed", type=int, default=None, help="overrides the config's seed")
    parser.add_argument("--num_workers", type=number_type(int, low=0), default=None,
                        help="loader workers (overrides data.num_workers)")
    args = parser.parse_args(argv)

    from tts_codec.train.registry import fit_from_config

    config = load_config(args.config)
    for key in ("tokenizer_dir", "init_llm_dir", "seed"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    if args.num_workers is not None:
        config.setdefault("data", {})["num_workers"] = args.num_workers
    fit_from_config(config, args.output_dir, args.train_data, args.valid_data, ngpu=args.ngpu,
                    num_nodes=args.num_nodes, max_steps=args.max_steps, resume=args.resume, overwrite=args.overwrite,
                    codes_dir=args.codes_dir, attr_dir=args.attr_dir,
                    **({"xvector_dir": args.xvector_dir} if args.xvector_dir else {}))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
