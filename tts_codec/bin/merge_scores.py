"""Merge the scoring dirs of an nj-way run into one (rows `LC_ALL=C` sorted, summary recomputed from the rows).

Every part is read and checked first; the merged dir is built aside and swapped in only when complete, so a
missing or broken part never costs the scores already there. The output may not be, contain or lie in a part.

Example: python -m tts_codec.bin.merge_scores --out_dir exp/x/scores exp/x/scores.parts/part.{1..4}
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tts_codec.atomic import refuse_input_as_output, replace_dir
from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.eval.score_dir import refuse_foreign_files
from tts_codec.eval.score_merge import merge_parts


def get_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    p.add_argument("parts", nargs="+", help="scoring dirs of the parts (each with per_utt.tsv and summary.json)")
    p.add_argument("--out_dir", required=True)
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    refuse_input_as_output(args.out_dir, args.parts, "merged score dir --out_dir")
    refuse_foreign_files(args.out_dir, "--out_dir")
    with replace_dir(args.out_dir, args.parts, args.overwrite, "merged score dir --out_dir") as new:
        summary = merge_parts(args.parts, new)
    print(f"merged {len(args.parts)} parts into {args.out_dir}: {summary['n_utts']} utterances, "
          f"{summary['n_utts_with_failures']} with at least one failure (see failures.tsv)", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
