"""Recipe stage 5: train a codec (GAN) on Kaldi data dirs; 1 CPU, N GPUs (DDP) or N nodes (torchrun / SLURM srun).

Writes `<output_dir>/config.yaml` (the resolved config, also inside every checkpoint), `checkpoints/last.ckpt`
(+ the newest periodic ones), TensorBoard logs under `tensorboard/`, and at the end the generator in inference
format under `model/`. With `--resume true` a run continues exactly from `checkpoints/last.ckpt`. Steps count
training batches (one discriminator and one generator update each).
"""
from __future__ import annotations

import logging
import sys
from typing import Sequence

from tts_codec.cli import new_parser, non_negative_int, positive_int, run_main, str2bool
from tts_codec.codecs.bicodec.ssl import set_ssl_model_dir
from tts_codec.config import load_config
from tts_codec.train.registry import fit_from_config

log = logging.getLogger("train_codec")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--config", required=True, help="training config, e.g. conf/train/bicodec_official.yaml")
    parser.add_argument("--train_data", required=True, help="training data dir, e.g. dump/raw/train")
    parser.add_argument("--valid_data", default=None, help="validation data dir (none: no validation)")
    parser.add_argument("--feats_dir", default=None,
                        help="stage-3 SSL features, read from <feats_dir>/<data dir name>/ssl_feats*.scp "
                             "(none: computed on the fly from ssl_conf)")
    parser.add_argument("--output_dir", required=True, help="experiment dir, e.g. exp/codec_bicodec")
    parser.add_argument("--ngpu", type=non_negative_int, default=0, help="GPUs per node (0: CPU)")
    parser.add_argument("--num_nodes", type=positive_int, default=1, help="number of nodes")
    parser.add_argument("--max_steps", type=positive_int, default=None,
                        help="training batches (default: trainer.max_steps)")
    parser.add_argument("--resume", type=str2bool, default=True, help="continue from checkpoints/last.ckpt if present")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="discard existing checkpoints and logs")
    parser.add_argument("--seed", type=non_negative_int, default=None, help="overrides the config's seed")
    parser.add_argument("--batch_size", type=positive_int, default=None,
                        help="per-process batch size (overrides data.batch_size)")
    parser.add_argument("--num_workers", type=non_negative_int, default=None,
                        help="loader workers (overrides data.num_workers)")
    parser.add_argument("--init_from", default=None,
                        help="start from this trained codec model dir (overrides the config's init_from; a resumed "
                             "run continues from its checkpoint instead); see the config key freeze")
    parser.add_argument("--ssl_model_dir", default=None, help="local wav2vec2 directory (overrides ssl_conf.model_dir)")
    args = parser.parse_args(argv)

    config = load_config(args.config)
    if args.seed is not None:
        config["seed"] = args.seed
    for key in ("batch_size", "num_workers"):
        if getattr(args, key) is not None:
            config.setdefault("data", {})[key] = getattr(args, key)
    if args.init_from is not None:
        config["init_from"] = args.init_from
    set_ssl_model_dir(config, args.ssl_model_dir)
    fit_from_config(config, args.output_dir, args.train_data, args.valid_data, ngpu=args.ngpu,
                    num_nodes=args.num_nodes, max_steps=args.max_steps, resume=args.resume, overwrite=args.overwrite,
                    feats_dir=args.feats_dir)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
