"""Recipe stage 7: add the bitrate and codebook usage of a codes dir to a score dir (summary.json and reports)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, run_main
from tts_codec.errors import UserError
from tts_codec.eval.codec_usage import codec_usage, write_usage
from tts_codec.eval.score_dir import SUMMARY, finalize, read_summary

COMPUTED = ("metrics", "ci95_method", "n_utts", "n_utts_with_failures")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--codes_dir", required=True, help="tokens of the set (dump/codes/<tag>/<set>)")
    parser.add_argument("--score_dir", required=True, help="score dir of the resynthesis (from tts_codec.bin.score)")
    args = parser.parse_args(argv)
    summary_path = Path(args.score_dir) / SUMMARY
    if not summary_path.is_file():
        raise UserError(f"--score_dir {args.score_dir}: no {SUMMARY} (run tts_codec.bin.score first)")
    meta = {k: v for k, v in read_summary(summary_path).items() if k not in COMPUTED}
    metrics = codec_usage(args.codes_dir)
    write_usage(args.score_dir, metrics, args.codes_dir)
    finalize(args.score_dir, meta)
    for name, figure in metrics.items():
        print(f"{name}: {'n/a' if figure['mean'] is None else format(figure['mean'], '.4g')}", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
