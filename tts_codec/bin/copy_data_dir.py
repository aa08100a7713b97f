"""Copy a data dir, optionally adding prefixes/suffixes to utterance and speaker ids (Kaldi's copy_data_dir.sh).

An affix may start with a dash (`--utt-suffix -sp1.1`, Kaldi's speed-perturbation naming).
Usage: python -m tts_codec.bin.copy_data_dir --utt_prefix sp1.1- --spk_prefix sp1.1- data/train data/train_sp
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.data.ops import copy_data_dir


AFFIXES = ("utt_prefix", "utt_suffix", "spk_prefix", "spk_suffix")


def join_affix_values(argv: Sequence[str]) -> list[str]:
    """`--utt-suffix -sp1.1` -> `--utt-suffix=-sp1.1`, so that argparse does not take the value for an option."""
    flags = {f"--{name}" for name in AFFIXES} | {f"--{name.replace('_', '-')}" for name in AFFIXES}
    out, args = [], list(argv)
    while args:
        arg = args.pop(0)
        out.append(f"{arg}={args.pop(0)}" if arg in flags and args else arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("src_dir", help="the data dir to copy")
    parser.add_argument("dest_dir", help="the new data dir")
    for name in AFFIXES:
        parser.add_argument(f"--{name}", f"--{name.replace('_', '-')}", default="", help=f"{name} to add to ids")
    add_overwrite(parser)
    args = parser.parse_args(join_affix_values(sys.argv[1:] if argv is None else [str(a) for a in argv]))
    out = copy_data_dir(args.src_dir, args.dest_dir, utt_prefix=args.utt_prefix, utt_suffix=args.utt_suffix,
                        spk_prefix=args.spk_prefix, spk_suffix=args.spk_suffix, overwrite=args.overwrite)
    print(f"{args.dest_dir}: {len(out)} utterances")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
