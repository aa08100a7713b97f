"""Print the lines of a table whose key is (or with --exclude, is not) in an id list; Kaldi's utils/filter_scp.pl.

Usage: python -m tts_codec.bin.filter_scp [--exclude] [-f 1] id_list in.scp > out.scp
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, positive_int, run_main
from tts_codec.data.ops import filter_lines
from tts_codec.data.table import read_key_list, read_lines, write_lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("id_list", help="file whose first field is an id")
    parser.add_argument("in_scp", nargs="?", default="-", help="the table to filter, - for stdin")
    parser.add_argument("out_scp", nargs="?", help="write here (atomically) instead of stdout")
    parser.add_argument("--exclude", action="store_true", help="keep the lines whose key is NOT in the list")
    parser.add_argument("-f", "--field", type=positive_int, default=1, help="1-based field of each line to match")
    args = parser.parse_args(argv)
    kept = filter_lines(read_lines(args.in_scp), read_key_list(args.id_list), args.exclude, args.field)
    if args.out_scp:
        write_lines(args.out_scp, kept)
    else:
        for line in kept:
            sys.stdout.write(line + "\n")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
