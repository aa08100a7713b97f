"""Merge several data dirs into one (Kaldi's utils/combine_data.sh); a duplicate utterance id is an error.

Usage: python -m tts_codec.bin.combine_data data/train_all data/train_a data/train_b
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.data.ops import combine_data


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("dest_dir", help="the combined data dir")
    parser.add_argument("src_dirs", nargs="+", help="the data dirs to merge")
    add_overwrite(parser)
    args = parser.parse_args(argv)
    out = combine_data(args.dest_dir, args.src_dirs, overwrite=args.overwrite)
    print(f"{args.dest_dir}: {len(out)} utterances, {len(out.speakers)} speakers from {len(args.src_dirs)} dirs")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
