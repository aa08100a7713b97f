"""Merge several data dirs into one, as Kaldi's utils/combine_data.sh does.

Files missing from some source dirs are not combined (a warning), except segments: a dir without segments gets
`utt utt 0 <duration>` lines. An utterance found in several dirs keeps, per file, the line that sorts first (a
warning), and utterances missing from a combined table are dropped, as Kaldi's final fix_data_dir.sh does;
--skip-fix true turns both into errors instead (Kaldi would write an unfixed dir). A source without text while
others have it is an error (Kaldi would silently drop text).
Usage: python -m tts_codec.bin.combine_data [--extra-files "utt2x"] data/train_all data/train_a data/train_b
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import add_overwrite, new_parser, run_main, str2bool
from tts_codec.data.ops import combine_data


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("dest_dir", help="the combined data dir")
    parser.add_argument("src_dirs", nargs="+", help="the data dirs to merge")
    parser.add_argument("--extra_files", "--extra-files", default="",
                        help="space-separated names of more files to combine (keyed by utterance)")
    parser.add_argument("--skip_fix", "--skip-fix", type=str2bool, default=False,
                        help="do not resolve duplicate or incomplete utterances (errors instead)")
    add_overwrite(parser)
    args = parser.parse_args(argv)
    out = combine_data(args.dest_dir, args.src_dirs, overwrite=args.overwrite,
                       extra_files=args.extra_files.split(), skip_fix=args.skip_fix)
    print(f"{args.dest_dir}: {len(out)} utterances, {len(out.speakers)} speakers from {len(args.src_dirs)} dirs")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
