"""Entry-point wrapper shared by every `python -m tts_codec.bin.<verb>`: user errors become one line and exit 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable, Sequence

from tts_codec.errors import UserError

EXIT_USER_ERROR = 2


def setup_logging(level: int = logging.INFO) -> None:
    """Log `time [module] message` to stderr, the format recipe logs show."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s [%(name)s] %(levelname)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run `main(argv)`; a `UserError` prints `error: <message>` on stderr and returns 2 (no traceback).

    Set TTS_CODEC_DEBUG=1 to get the traceback anyway.
    """
    setup_logging()
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "tts_codec"
    try:
        return int(main(argv) or 0)
    except UserError as err:
        if os.environ.get("TTS_CODEC_DEBUG"):
            raise
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def str2bool(value: str) -> bool:
    """argparse type for `--flag true|false` (the spelling run.sh passes); anything else is an argument error."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """Add `--overwrite true|false` (default false): replace a non-empty output instead of refusing."""
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace a non-empty output")


def new_parser(description: str | None) -> argparse.ArgumentParser:
    """An ArgumentParser that shows defaults, with the entry point's docstring as its description."""
    return argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
