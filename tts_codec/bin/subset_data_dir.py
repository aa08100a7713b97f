"""Copy a subset of a data dir: by utterance list, speaker list, or the first/last N utterances (C-sorted order).

Kaldi's utils/subset_data_dir.sh with Python-style options.
Usage: python -m tts_codec.bin.subset_data_dir --first 100 data/train data/train_100
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import add_overwrite, new_parser, positive_int, run_main
from tts_codec.data.ops import subset_data_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("src_dir", help="the data dir to read")
    parser.add_argument("dest_dir", help="the new data dir")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--utt_list", "--utt-list", help="file whose first field is an utterance id to keep")
    group.add_argument("--spk_list", "--spk-list", help="file whose first field is a speaker id to keep")
    group.add_argument("--first", type=positive_int, help="keep the first N utterances")
    group.add_argument("--last", type=positive_int, help="keep the last N utterances")
    add_overwrite(parser)
    args = parser.parse_args(argv)
    sub = subset_data_dir(args.src_dir, args.dest_dir, overwrite=args.overwrite, utt_list=args.utt_list,
                          spk_list=args.spk_list, first=args.first, last=args.last)
    print(f"{args.dest_dir}: {len(sub)} utterances, {len(sub.speakers)} speakers")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
