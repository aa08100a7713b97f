"""Split a data dir into N data dirs <data_dir>/split<N>/<1..N> for parallel jobs (Kaldi's utils/split_data.sh).

By default utterances are cut into contiguous balanced groups; --per_spk keeps each speaker's utterances together.
Usage: python -m tts_codec.bin.split_data [--per_spk] data/train 8
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, positive_int, run_main
from tts_codec.data.ops import split_data


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("data_dir", help="the data dir to split")
    parser.add_argument("num_to_split", type=positive_int, help="the number of parts N")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--per_spk", "--per-spk", action="store_true", help="never split a speaker across parts")
    mode.add_argument("--per_utt", "--per-utt", action="store_true", help="split by utterance (the default)")
    args = parser.parse_args(argv)
    parts = split_data(args.data_dir, args.num_to_split, per_spk=args.per_spk)
    print(parts[0].parent)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
