"""Build evaluation lists (evaluation.md §9): zero-shot clone pairs, a codec-resynthesis subset, Seed-TTS lists.

  clone: --data_dir data/test --out_dir data/test_clone    -> meta.lst, trials, enroll.scp (same-speaker pairs)
  ears:  --data_dir data/ears_test --out_dir data/ears_zs   -> meta.lst, trials, enroll.scp (same-speaker pairs)
  codec: --data_dir data/test --out_dir data/test_codec     -> a data dir subset (duration filter, max_utts)
  seed:  --meta_lst seedtts_testset/en/meta.lst --out_dir data/seedtts_en -> data dir + prompt.scp for inference

Texts must be speakable (no empty, blank, punctuation-only or control-character text) and every listed wav must
exist. The output is built aside and swapped in whole; it may not be, contain or lie in the input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import replace_dir
from tts_codec.cli import add_overwrite, non_negative_float, non_negative_int, number_type, run_main
from tts_codec.data.datadir import DataDir
from tts_codec.data.ops import save_new_data_dir
from tts_codec.data.table import write_table
from tts_codec.errors import UserError
from tts_codec.eval.protocols import (audio_table, clone_pairs, codec_subset, ears_pairs, meta_to_datadir, pair_trials,
                                      pairs_to_meta, parse_speakers, read_meta_lst, write_meta_lst, write_trials)


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the docstring's layout and show defaults."""


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_Formatter)
    p.add_argument("kind", choices=["clone", "ears", "codec", "seed"])
    p.add_argument("--out_dir", required=True)
    p.add_argument("--data_dir", help="input data dir (clone, ears, codec)")
    p.add_argument("--meta_lst", help="input Seed-TTS-eval list (seed)")
    p.add_argument("--speakers", default="p102-p107", help="ears: speakers to pair (range or comma list)")
    p.add_argument("--min_dur", type=non_negative_float, default=0.0, help="codec: shortest utterance in s")
    p.add_argument("--max_dur", type=number_type(float, low=0, low_open=True, allow_inf=True), default=float("inf"),
                   help="codec: longest utterance in s")
    p.add_argument("--max_utts", type=non_negative_int, default=0,
                   help="codec: keep this many, evenly spaced (0 = all)")
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    need = "meta_lst" if args.kind == "seed" else "data_dir"
    if not getattr(args, need):
        raise UserError(f"{args.kind} needs --{need}")
    if args.min_dur > args.max_dur:
        raise UserError(f"--min_dur {args.min_dur} is above --max_dur {args.max_dur}: no utterance can be kept")
    out = Path(args.out_dir)
    if args.kind == "codec":
        data = DataDir.load(args.data_dir)
        subset = codec_subset(data, args.min_dur, args.max_dur, args.max_utts)
        save_new_data_dir(subset, out, [data], args.overwrite)
        print(f"codec list: {len(subset)} utterances in {out}", file=sys.stderr)
    elif args.kind == "seed":
        data = meta_to_datadir(read_meta_lst(args.meta_lst, strict=True))
        with replace_dir(out, [args.meta_lst], args.overwrite, "--out_dir") as new:
            data.save(new, overwrite=True)
        print(f"seed list: {len(data)} utterances in {out}", file=sys.stderr)
    else:
        write_pairs(args, out)
    return 0


def write_pairs(args: argparse.Namespace, out: Path) -> None:
    """clone / ears: meta.lst, trials and enroll.scp of same-speaker pairs of --data_dir."""
    data = DataDir.load(args.data_dir)
    if args.kind == "ears":
        pairs = ears_pairs(data.utt_ids, parse_speakers(args.speakers))
        if not pairs:
            raise UserError(f"{args.data_dir}: no EARS pairs for speakers {args.speakers} (ids like p102_rainbow_01_fast)")
    else:
        pairs = clone_pairs(data)
        if not pairs:
            raise UserError(f"{args.data_dir}: no speaker has two utterances with different texts")
    entries = pairs_to_meta(data, pairs)  # checks texts and wavs before anything is written
    audio = audio_table(data)
    with replace_dir(out, [args.data_dir], args.overwrite, "--out_dir") as new:
        write_meta_lst(new / "meta.lst", entries)
        write_trials(new / "trials", pair_trials(pairs, data.utt2spk))
        write_table(new / "enroll.scp", {p: audio[p] for p in set(pairs.values())})
    print(f"{args.kind} pairs: {len(pairs)} targets from {len(set(map(data.utt2spk.get, pairs)))} speakers in {out}",
          file=sys.stderr)


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
