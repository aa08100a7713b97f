"""Synthesise a multi-speaker eSpeak NG corpus as Kaldi data dirs, or in the on-disk layout of EARS/LibriSpeech/VoxBox.

Example: `tts-codec-synth --out_dir data/synth --num_speakers 8 --utts_per_speaker 12 --sample_rate 16000`;
`--size large` gives about 75 minutes over 16 voices for codec quality runs (explicit count flags override a size).
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tts_codec.cli import new_parser, non_negative_int, number_type, run_main, str2bool
from tts_codec.data.synth.corpus import SIZES, CorpusConfig, make_corpus, sized_config
from tts_codec.data.synth.espeak import get_engine
from tts_codec.data.synth.layouts import LAYOUTS, write_layout
from tts_codec.errors import UserError

any_int = number_type(int)  # the counts' ranges depend on each other: CorpusConfig.check names them


def get_parser() -> argparse.ArgumentParser:
    defaults = CorpusConfig()
    parser = new_parser(__doc__)
    parser.add_argument("--out_dir", required=True, help="corpus root (data dirs, or the corpus tree of --layout)")
    parser.add_argument("--layout", default="kaldi", choices=("kaldi",) + tuple(LAYOUTS),
                        help="kaldi: <out>/{train,dev,test} data dirs; others: the real corpus' file layout")
    parser.add_argument("--size", default="small", choices=tuple(SIZES),
                        help="preset of the four counts below: " + "; ".join(
                            f"{name}: " + ", ".join(f"{k} {v}" for k, v in preset.items())
                            for name, preset in SIZES.items()))
    parser.add_argument("--num_speakers", type=any_int, default=None,
                        help="voices from the table (default: --size)")
    parser.add_argument("--utts_per_speaker", type=any_int, default=None,
                        help="utterances per seen speaker, dev included (default: --size)")
    parser.add_argument("--dev_utts_per_speaker", type=any_int, default=None,
                        help="of each seen speaker's utterances, how many (unseen sentences) go to dev "
                             "(default: --size)")
    parser.add_argument("--num_test_speakers", type=any_int, default=None,
                        help="held-out speakers (test only), genders alternating (default: --size)")
    parser.add_argument("--test_utts_per_speaker", type=any_int, default=None,
                        help="utterances per held-out speaker (default: --size, else --utts_per_speaker)")
    parser.add_argument("--sample_rate", type=any_int, default=defaults.sample_rate,
                        help="kaldi layout only (EARS is 48 kHz, LibriSpeech/VoxBox 16 kHz)")
    parser.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    parser.add_argument("--splice_sentences", type=str2bool, default=False,
                        help="training utterances read the first half of a list sentence joined to the second half "
                             "of another (distinct word sequences; dev and test unchanged)")
    parser.add_argument("--wav_dir", default=None, help="kaldi layout: where wavs go (default <out_dir>/wav)")
    parser.add_argument("--engine", default="auto", choices=("auto", "library", "cli"),
                        help="eSpeak NG backend: pip espeakng-loader library or the espeak-ng program")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace a non-empty --out_dir")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    cfg = sized_config(args.size, num_speakers=args.num_speakers, utts_per_speaker=args.utts_per_speaker,
                       dev_utts_per_speaker=args.dev_utts_per_speaker, num_test_speakers=args.num_test_speakers,
                       test_utts_per_speaker=args.test_utts_per_speaker, sample_rate=args.sample_rate,
                       seed=args.seed, splice_sentences=args.splice_sentences or None)
    engine = get_engine(args.engine)
    if args.layout == "kaldi":
        make_corpus(args.out_dir, cfg, wav_dir=args.wav_dir, overwrite=args.overwrite, engine=engine)
    else:
        if args.wav_dir:
            raise UserError(f"--wav_dir applies to --layout kaldi only, not {args.layout}")
        write_layout(args.layout, args.out_dir, cfg, overwrite=args.overwrite, engine=engine)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
