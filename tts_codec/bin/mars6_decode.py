"""Recipe stage 10 (MARS6): clone each line of a meta.lst with a trained MARS6 and a SNAC-style codec into
`<out_dir>/wav/` (+ wav.scp, timing); resumable (tts_codec.tts.mars6_decode_list).

Defaults are the official inference settings: top-p 0.2 with backoff (+0.2 per retry, at most 10 attempts, when a
chunk is shorter than its text needs or quieter than -52 LUFS), RAS on the coarsest token (window 10, threshold
0.09), per-chunk deep clone, sentence chunks of at most 300 characters.
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, non_negative_int, number_type, positive_int, run_main, str2bool


def main(argv: Sequence[str] | None = None) -> int:
    from tts_codec.tts.mars6 import CLONE_MODES, Mars6Options

    d = Mars6Options()
    p = new_parser(__doc__)
    p.add_argument("--codec_dir", required=True, help="codec model dir (SNAC: exp/codec_<tag>/model)")
    p.add_argument("--lm_dir", required=True, help="MARS6 model dir (exp/lm_<tag>/model)")
    p.add_argument("--meta_lst", required=True, help="utt|prompt_text|prompt_wav|infer_text list")
    p.add_argument("--out_dir", required=True, help="e.g. exp/lm_<tag>/decode_test_clone")
    p.add_argument("--speaker_model_dir", default=None, help="local WavLM-SV dir (default: the model's extractor)")
    p.add_argument("--use_prompt_text", type=str2bool, default=True, help="deep clone with the transcript")
    p.add_argument("--deep_clone_mode", default=d.deep_clone_mode, choices=CLONE_MODES)
    p.add_argument("--top_p", type=number_type(float, low=0, high=1, low_open=True), default=d.top_p)
    p.add_argument("--backoff_increment", type=number_type(float, low=0), default=d.backoff_increment)
    p.add_argument("--max_attempts", type=positive_int, default=d.max_attempts)
    p.add_argument("--persist_backoff", type=str2bool, default=d.persist_backoff,
                   help="official quirk: a raised top-p carries into later chunks")
    p.add_argument("--ras_window", type=non_negative_int, default=d.ras_window)
    p.add_argument("--ras_threshold", type=number_type(float, low=0, high=1), default=d.ras_threshold)
    p.add_argument("--cfg_scale", type=number_type(float, low=0), default=d.cfg_scale, help="1: no guidance")
    p.add_argument("--max_chars", type=non_negative_int, default=d.max_chars, help="chunk length (0: no split)")
    p.add_argument("--use_cache", type=str2bool, default=d.use_cache, help="KV caches")
    p.add_argument("--int8_weights", type=str2bool, default=d.int8_weights,
                   help="generate with int8 weights (faster on CPU; not bit-exact, see tts_codec.lm.mars6.int8)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default="cpu")
    p.add_argument("--overwrite", type=str2bool, default=False, help="decode again with other settings")
    args = p.parse_args(argv)

    from tts_codec.tts.mars6 import Mars6TTS
    from tts_codec.tts.mars6_decode_list import decode_meta_list

    keys = ("deep_clone_mode", "top_p", "backoff_increment", "max_attempts", "persist_backoff", "ras_window",
            "ras_threshold", "cfg_scale", "max_chars", "use_cache", "int8_weights", "seed")
    options = Mars6Options(**{k: getattr(args, k) for k in keys})
    tts = Mars6TTS.from_dirs(args.codec_dir, args.lm_dir, args.device, args.speaker_model_dir, options)
    decode_meta_list(tts, args.meta_lst, args.out_dir, {"codec_dir": args.codec_dir, "lm_dir": args.lm_dir},
                     args.use_prompt_text, args.overwrite)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
