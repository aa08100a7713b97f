"""Check a Kaldi data dir as Kaldi's utils/validate_data_dir.sh does; --strict adds the project's checks.

By default the checks are Kaldi's: final newlines, no CR, C-sorted unique keys, utt2spk sorted by speaker too,
spk2utt matching utt2spk line for line, the same utterances in text/wav.scp/segments/feats.scp, the same recordings
in segments and wav.scp, no ~ paths, no <s> </s> #0 or odd whitespace in text, spk2gender m/f, positive utt2dur.
feats.scp is never required (--no-feats is accepted and changes nothing).
--strict also checks what Kaldi does not: no blank lines or empty text, every utt2*/spk2*/reco2* file covering
every key, positive utt2num_samples, and (unless --no-audio-check) that every audio spec opens and every segment
lies inside its recording.
Usage: python -m tts_codec.bin.validate_data_dir [--strict] [--no-text] [--no-wav] data/train
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, positive_float, run_main
from tts_codec.data.audio import PIPE_TIMEOUT_S
from tts_codec.data.validate import validate_data_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("data_dir", help="the data dir to check")
    parser.add_argument("--strict", action="store_true",
                        help="also make the project's checks, beyond Kaldi's (see above); default: Kaldi's only")
    parser.add_argument("--no_audio_check", "--no-audio-check", action="store_true",
                        help="with --strict: do not open the audio of wav.scp (faster; pipes are not run)")
    parser.add_argument("--no_text", "--no-text", action="store_true", help="text is optional, and not checked")
    parser.add_argument("--no_wav", "--no-wav", action="store_true", help="wav.scp is optional")
    parser.add_argument("--no_spk_sort", "--no-spk-sort", action="store_true",
                        help="do not require utt2spk to be sorted by speaker as well as by utterance")
    parser.add_argument("--non_print", "--non-print", action="store_true", help="allow control characters in text")
    parser.add_argument("--no_feats", "--no-feats", action="store_true",
                        help="accepted for Kaldi compatibility; feats.scp is never required")
    parser.add_argument("--pipe_timeout", "--pipe-timeout", type=positive_float, default=PIPE_TIMEOUT_S,
                        help="seconds one `cmd |` entry of wav.scp may run (an endless pipe is an error naming it)")
    args = parser.parse_args(argv)
    report = validate_data_dir(
        args.data_dir,
        check_audio=not args.no_audio_check,
        check_text=not args.no_text,
        check_wav=not args.no_wav,
        check_spk_sort=not args.no_spk_sort,
        non_print=args.non_print,
        pipe_timeout=args.pipe_timeout,
        strict=args.strict,
    )
    print(f"{report.path}: OK ({report.num_utts} utterances, {report.num_speakers} speakers, "
          f"{report.num_recordings} recordings, {len(report.warnings)} warnings)")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
