"""Entry-point wrapper shared by every `python -m tts_codec.bin.<verb>`: user errors become one line and exit 2."""
from __future__ import annotations

import argparse
import logging
import math
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

    So does an OSError about a named file (e.g. writing into a read-only directory): `error: <file>: <reason>`.

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
    except OSError as err:
        # A file the user named (or a directory to write into) that the system refuses: read-only, full, missing.
        if err.filename is None or os.environ.get("TTS_CODEC_DEBUG"):
            raise
        print(f"{prog}: error: {err.filename}: {err.strerror}", file=sys.stderr)
        return EXIT_USER_ERROR


def str2bool(value: str) -> bool:
    """argparse type for `--flag true|false` (the spelling run.sh passes); anything else is an argument error."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def number_type(
    kind: type, low: float | None = None, high: float | None = None, low_open: bool = False, allow_inf: bool = False,
) -> Callable[[str], float]:
    """An argparse `type=` that parses `kind` (int or float) and checks `low <= x <= high` (`low < x` if low_open).

    Every numeric option goes through this, so a bad value reads the same everywhere:
    `error: argument --nj: expected an integer >= 1, got '0'`. NaN is always refused; inf only with allow_inf.
    """
    noun = "an integer" if kind is int else "a number"
    bounds = [f"{'>' if low_open else '>='} {low:g}" if low is not None else "",
              f"<= {high:g}" if high is not None else ""]
    wanted = f"{noun} {' and '.join(b for b in bounds if b)}".strip()

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        bad = math.isnan(value) or (math.isinf(value) and not allow_inf)
        bad = bad or (low is not None and (value <= low if low_open else value < low))
        if bad or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted  # argparse names the type in some messages
    return parse


#: Shared argparse types for numeric options (see `number_type`).
positive_int = number_type(int, low=1)
non_negative_int = number_type(int, low=0)
positive_float = number_type(float, low=0, low_open=True)
non_negative_float = number_type(float, low=0)
probability = number_type(float, low=0, high=1)


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """Add `--overwrite true|false` (default false): replace a non-empty output instead of refusing."""
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace a non-empty output")


def new_parser(description: str | None) -> argparse.ArgumentParser:
    """An ArgumentParser that shows defaults, with the entry point's docstring as its description."""
    return argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
