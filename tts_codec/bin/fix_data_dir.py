"""Repair a data dir in place: keep utterances present in every table, sort, rebuild spk2utt (Kaldi's fix_data_dir.sh).

As in Kaldi, an utterance with empty text is kept and segment times are kept as written. Originals and the list of
removed utterances go to a new <data_dir>/.backup/<N>/ (earlier backups are kept).
Usage: python -m tts_codec.bin.fix_data_dir [--utt_extra_files "utt2sid"] [--spk_extra_files "spk2info"] data/train
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, run_main
from tts_codec.data.ops import fix_data_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("data_dir", help="the data dir to repair (rewritten in place)")
    parser.add_argument("--utt_extra_files", "--utt-extra-files", default="",
                        help="space-separated utterance-keyed files to filter too, beyond utt2* and *.scp")
    parser.add_argument("--spk_extra_files", "--spk-extra-files", default="",
                        help="space-separated speaker-keyed files to filter to the remaining speakers")
    args = parser.parse_args(argv)
    report = fix_data_dir(args.data_dir, utt_extra_files=args.utt_extra_files.split(),
                          spk_extra_files=args.spk_extra_files.split())
    print(f"{args.data_dir}: kept {report.num_kept} utterances, removed {len(report.removed)} "
          f"(originals in {report.backup})")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
