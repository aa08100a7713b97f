"""Print utt2spk for a spk2utt file ("-" reads stdin); Kaldi's utils/spk2utt_to_utt2spk.pl.

Usage: python -m tts_codec.bin.spk2utt_to_utt2spk data/train/spk2utt > data/train/utt2spk
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, run_main
from tts_codec.data.ops import spk2utt_to_utt2spk
from tts_codec.data.table import read_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("spk2utt", nargs="?", default="-", help="the spk2utt file, - for stdin")
    args = parser.parse_args(argv)
    for utt, spk in spk2utt_to_utt2spk(read_table(args.spk2utt)).items():
        sys.stdout.write(f"{utt} {spk}\n")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
