"""Print spk2utt for a utt2spk file ("-" reads stdin); Kaldi's utils/utt2spk_to_spk2utt.pl.

Usage: python -m tts_codec.bin.utt2spk_to_spk2utt data/train/utt2spk > data/train/spk2utt
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, run_main
from tts_codec.data.ops import utt2spk_to_spk2utt
from tts_codec.data.datadir import read_utt2spk


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("utt2spk", nargs="?", default="-", help="the utt2spk file, - for stdin")
    args = parser.parse_args(argv)
    for spk, utts in utt2spk_to_spk2utt(read_utt2spk(args.utt2spk)).items():
        sys.stdout.write(f"{spk} {' '.join(utts)}\n")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
