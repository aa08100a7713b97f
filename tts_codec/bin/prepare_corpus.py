"""Stage 1 of a corpus recipe: Kaldi data dirs from a downloaded corpus in its own on-disk layout.

  ears:        --root EARS_ROOT --out_dir data [--train p001-p099 --dev p100-p101 --test p102-p107]
  librispeech: --root .../LibriSpeech --out_dir data --subsets train-clean-100,dev-clean,test-clean
  voxbox:      --root VOXBOX_ROOT --out_dir data --cache_dir downloads/voxbox_tar [--corpora a,b --languages en]

Items that cannot be used (no transcript, unreadable audio, audio missing from a partial download) are skipped
and counted in the log; a corpus root that is not one, or a selection that leaves a set empty, is an error.
Every set is validated before it replaces anything in --out_dir.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tts_codec.cli import add_overwrite, non_negative_int, run_main, str2bool
from tts_codec.errors import UserError


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the docstring's layout and show defaults."""


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_Formatter)
    p.add_argument("corpus", choices=["ears", "librispeech", "voxbox"])
    p.add_argument("--root", required=True, help="the corpus root (LibriSpeech: the LibriSpeech/ directory)")
    p.add_argument("--out_dir", required=True, help="where the data dirs <out_dir>/<set> go")
    p.add_argument("--check_audio", type=str2bool, default=True, help="open every file; skip unreadable ones")
    add_overwrite(p)
    p.add_argument("--train", default="p001-p099", help="ears: train speakers (range or comma list)")
    p.add_argument("--dev", default="p100-p101", help="ears: dev speakers")
    p.add_argument("--test", default="p102-p107", help="ears: test speakers")
    p.add_argument("--subsets", default="train-clean-100,dev-clean,test-clean", help="librispeech: comma list")
    p.add_argument("--cache_dir", help="voxbox: where .tar.gz shards are decompressed (once) and indexed")
    p.add_argument("--corpora", default="", help="voxbox: sub-corpora (comma list; empty = all)")
    p.add_argument("--languages", default="", help="voxbox: languages, e.g. en,zh (empty = all)")
    p.add_argument("--num_dev", type=non_negative_int, default=500, help="voxbox: train records held out as dev")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    common = {"check_audio": args.check_audio, "overwrite": args.overwrite}
    if args.corpus == "ears":
        from tts_codec.recipes.ears import prepare_ears

        counts = prepare_ears(args.root, args.out_dir, {"train": args.train, "dev": args.dev, "test": args.test},
                              **common)
    elif args.corpus == "librispeech":
        from tts_codec.recipes.librispeech import prepare_librispeech

        counts = prepare_librispeech(args.root, args.out_dir, _names(args.subsets), **common)
    else:
        from tts_codec.recipes.voxbox import prepare_voxbox

        if not args.cache_dir:
            raise UserError("voxbox needs --cache_dir (where .tar.gz shards are decompressed for random access)")
        counts = prepare_voxbox(args.root, args.out_dir, args.cache_dir, _names(args.corpora),
                                _names(args.languages), args.num_dev, **common)
    print(" ".join(f"{name}={n}" for name, n in counts.items()))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
