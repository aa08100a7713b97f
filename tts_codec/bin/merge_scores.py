"""Merge the scoring dirs of an nj-way run into one (rows `LC_ALL=C` sorted, summary recomputed from the rows).

Example: python -m tts_codec.bin.merge_scores --out_dir exp/x/scores exp/x/scores/part{1..4}
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tts_codec.atomic import refuse_to_clobber
from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.errors import UserError
from tts_codec.eval.score_dir import PER_UTT, SUMMARY, merge_parts


def get_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    p.add_argument("parts", nargs="+", help="scoring dirs of the parts (each with per_utt.tsv and summary.json)")
    p.add_argument("--out_dir", required=True)
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if len(set(args.parts)) != len(args.parts):
        raise UserError("a part dir is listed twice")
    for name in (PER_UTT, SUMMARY):
        refuse_to_clobber(f"{args.out_dir}/{name}", args.overwrite, "merged")
    summary = merge_parts(args.parts, args.out_dir)
    print(f"merged {len(args.parts)} parts: {summary['n_utts']} utterances, "
          f"{summary['n_utts_with_failures']} with at least one failure", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
