"""Recipe stage 3 (Spark): attribute labels of every utterance as Kaldi extra files (bicodec_spark.md §6).

Writes utt2pitch, utt2speed (five levels), utt2pitch_value (int mel of the mean voiced F0, PyWorld DIO +
StoneMask), utt2speed_value (int syllables per second of speech; CMUdict syllables), utt2gender (from utt2gender /
spk2gender, else `unknown`) and attributes_info.json; `unknown` marks what cannot be measured. Languages come from
utt2lang, else --lang. Labels go into --out_dir (default: the data dir itself); a complete labelling with the same
settings is skipped. Parallel, Kaldi style: label each split with --out_dir <part>, then
`--data_dir <set> --merge <part>...` checks that the parts cover the set and writes the labels into it.
With --keep_present true the pitch/speed labels the data dir already has (a corpus' own, e.g. VoxBox's metadata)
are kept; the measurements fill in only the missing or `unknown` ones.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.data.datadir import DataDir
from tts_codec.labels.extract import (LabelSettings, check_writable, is_labelled, keep_present, label_data_dir,
                                      level_summary, merge_parts, write_labels)

log = logging.getLogger("extract_attributes")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--data_dir", required=True, help="data dir to label (or one split of it), or to merge into")
    parser.add_argument("--out_dir", default=None, help="where the label files go (default: --data_dir)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="PART",
                        help="instead of measuring: join these labelled parts into --data_dir")
    parser.add_argument("--lang", default="en", help="language of utterances without utt2lang (speed boundaries)")
    parser.add_argument("--attr_boundaries", default=None, help="JSON overriding the Spark level boundaries")
    parser.add_argument("--syllable_dict", default=None,
                        help="ARPAbet `WORD PHONES...` file consulted before CMUdict (e.g. for corpus-specific words)")
    parser.add_argument("--keep_present", type=str2bool, default=False,
                        help="keep the data dir's own pitch/speed labels where known (e.g. corpus metadata)")
    parser.add_argument("--overwrite", type=str2bool, default=False,
                        help="replace label files written with other settings or by someone else")
    args = parser.parse_args(argv)

    data = DataDir.load(args.data_dir)
    if args.merge:
        if args.out_dir:
            parser.error("--merge writes into --data_dir; drop --out_dir")
        tables, info = merge_parts(args.merge, data)
        if args.keep_present:
            tables, info = keep_present(data, tables, info)
        check_writable(data.path, info, args.overwrite)
        write_labels(data.path, tables, info, args.overwrite)
        log.info("merged %d parts into %s: %s", len(args.merge), data.path, level_summary(tables))
        return 0
    settings = LabelSettings.create(args.attr_boundaries, args.lang, args.syllable_dict)
    out_dir = Path(args.out_dir or args.data_dir)
    expected = {**settings.info(), "keep_present": True} if args.keep_present else settings.info()
    if not args.overwrite and is_labelled(out_dir, data.utt_ids, expected):
        log.info("%s already holds the labels of all %d utterances; skipping", out_dir, len(data))
        return 0
    check_writable(out_dir, expected, args.overwrite)
    tables, info = label_data_dir(data, settings), settings.info()
    if args.keep_present:
        tables, info = keep_present(data, tables, info)
    write_labels(out_dir, tables, info, args.overwrite)
    log.info("wrote %s: %s", out_dir, level_summary(tables))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
