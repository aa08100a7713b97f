"""Recipe stage 2: resample a data dir to the codec rate, write utt2num_samples, filter by duration."""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import (new_parser, non_negative_float, number_type, positive_float, positive_int, run_main,
                           str2bool)
from tts_codec.data.audio import PIPE_TIMEOUT_S
from tts_codec.data.format import format_data_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--in_dir", required=True, help="input Kaldi data dir")
    parser.add_argument("--out_dir", required=True, help="formatted data dir (wavs under out_dir/wav)")
    parser.add_argument("--fs", type=positive_int, required=True, help="output sample rate")
    parser.add_argument("--min_dur", type=non_negative_float, default=0.0, help="drop utterances shorter than this (s)")
    parser.add_argument("--max_dur", type=number_type(float, low=0, low_open=True, allow_inf=True),
                        default=float("inf"), help="drop utterances longer than this (s)")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace a non-empty out_dir")
    parser.add_argument("--pipe_timeout", type=positive_float, default=PIPE_TIMEOUT_S,
                        help="seconds one `cmd |` entry of wav.scp may run before its utterance is dropped")
    args = parser.parse_args(argv)
    format_data_dir(args.in_dir, args.out_dir, args.fs, args.min_dur, args.max_dur, args.overwrite, args.pipe_timeout)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
