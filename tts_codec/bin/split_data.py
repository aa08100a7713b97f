"""Split a data dir into N data dirs for parallel jobs, as Kaldi's utils/split_data.sh does.

By default each speaker goes whole into one part (Kaldi's split_scp.pl --utt2spk balancing), written to
<data_dir>/split<N>/<1..N>; this fails when the data dir has fewer than N speakers. --per-utt cuts the utterance
list into N contiguous chunks instead, written to <data_dir>/split<N>utt/<1..N>. The split dir is printed.
Usage: python -m tts_codec.bin.split_data [--per-utt] data/train 8
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
    mode.add_argument("--per_utt", "--per-utt", action="store_true",
                      help="split by utterance into split<N>utt/ (speakers may straddle parts)")
    mode.add_argument("--per_spk", "--per-spk", action="store_true",
                      help="split by speaker into split<N>/ (the default, as in Kaldi; kept for old scripts)")
    args = parser.parse_args(argv)
    parts = split_data(args.data_dir, args.num_to_split, per_spk=not args.per_utt)
    print(parts[0].parent)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
