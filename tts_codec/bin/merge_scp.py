"""Merge the codes dirs of parallel tokenization jobs (`part.1 ... part.N`) into one: sorted scps, `failed`, info.

The merged scps point at the parts' arks (nothing is copied), as Kaldi's `cat split*/feats.scp` does; the parts must
share one codes_info.json (same codec, config hash and streams).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.data.token_file import merge_codes_dirs

log = logging.getLogger("merge_scp")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--out_dir", required=True, help="merged codes dir (dump/codes/<tag>/<set>)")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace a merged dir of another model")
    parser.add_argument("parts", nargs="+", help="part codes dirs, e.g. dump/codes/<tag>/<set>/part.*")
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    info = merge_codes_dirs(args.parts, out_dir, args.overwrite)
    log.info("merged %d parts into %s (streams %s)", len(args.parts), out_dir, ", ".join(info.streams))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
