"""Copy a subset of a data dir, as Kaldi's utils/subset_data_dir.sh does; its forms are accepted:

  subset_data_dir [--first|--last|--per-spk|--speakers|--shortest] <src> <N> <dest>
  subset_data_dir --utt-list <file> <src> <dest>     (or --spk-list <file>)
Without an option, N utterances evenly spread over the (C-sorted) list are kept (Kaldi's "random" subset is this
fixed spread). --per-spk keeps N per speaker, --speakers whole speakers until N utterances (Kaldi's shuffle),
--shortest the N shortest (lengths from utt2num_frames, utt2dur or utt2num_samples). The older form with the
number after the option (`--first N <src> <dest>`) still works.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.data.ops import COUNT_MODES, subset_data_dir
from tts_codec.errors import UserError

#: the count modes chosen by an option (the default, "random", has none)
OPTION_MODES = tuple(m for m in COUNT_MODES if m != "random")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("args", nargs="+", metavar="src_dir [N] dest_dir", help="as in Kaldi (see above)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--utt_list", "--utt-list", help="file whose first field is an utterance id to keep")
    group.add_argument("--spk_list", "--spk-list", help="file whose first field is a speaker id to keep")
    for mode in OPTION_MODES:
        group.add_argument(f"--{mode}", f"--{mode.replace('_', '-')}", nargs="?", const="", default=None,
                           help=f"select by --{mode.replace('_', '-')} (N is the positional argument)")
    add_overwrite(parser)
    args = parser.parse_args([str(a) for a in argv] if argv is not None else None)
    src, dest, select = _selection(args)
    sub = subset_data_dir(src, dest, overwrite=args.overwrite, **select)
    print(f"{dest}: {len(sub)} utterances, {len(sub.speakers)} speakers")
    return 0


def _selection(args) -> tuple[str, str, dict]:
    """(src, dest, select_utts keywords) from the Kaldi form, or the older `--first N src dest` form."""
    pos = list(args.args)
    lists = {k: getattr(args, k) for k in ("utt_list", "spk_list") if getattr(args, k) is not None}
    if lists:
        if len(pos) != 2:
            raise UserError(f"--{next(iter(lists)).replace('_', '-')} takes <src-dir> <dest-dir>, got {len(pos)} "
                            "arguments")
        return pos[0], pos[1], lists
    mode, value = next(((m, getattr(args, m)) for m in OPTION_MODES if getattr(args, m) is not None), ("random", ""))
    flag = f"--{mode.replace('_', '-')}" if value is not None and mode != "random" else "N"
    kaldi_form = Path(value).is_dir() or not Path(pos[0]).is_dir() and re.fullmatch(r"-?\d+", pos[0])
    if value and len(pos) == 2 and not kaldi_form:
        pos.insert(1, value)  # the older form: the number follows the option
    elif value:
        pos.insert(0, value)  # Kaldi's form: argparse took <src-dir> for the option's value
    if len(pos) != 3:
        raise UserError(f"{flag}: expected <src-dir> <N> <dest-dir> (or --utt_list/--spk_list <file> <src-dir> "
                        f"<dest-dir>), got {len(pos)} arguments: {' '.join(pos)}")
    if not re.fullmatch(r"\d+", pos[1]) or int(pos[1]) == 0:
        raise UserError(f"{flag} {pos[1]}: N (the number of utterances) must be a positive whole number")
    return pos[0], pos[2], {mode: int(pos[1])}


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
