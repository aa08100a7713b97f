"""What the synthesis CLI may ask of each model family, checked before the model loads: a mars6 model clones only
(shallow from --prompt_wav; --prompt_text makes it a deep clone, per-chunk or fixed-ref by --deep_clone_mode) and
takes --top_p (default its official 0.2), --max_attempts, --use_cache and --seed; the spark-only options are refused
by name."""
from __future__ import annotations

import argparse
from typing import Any

from tts_codec.cli import positive_int
from tts_codec.errors import UserError
from tts_codec.tts.synthesis_request import VoiceChoice, require_mode

#: options of the spark family only (a mars6 model samples with its own settings: top-p with backoff, RAS)
SPARK_ONLY = ("do_sample", "temperature", "top_k", "max_new_tokens", "max_retries", "lm_dtype")


def add_family_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deep_clone_mode", default=None, choices=("none", "fixed-ref", "per-chunk"),
                        help="mars6 only; default: per-chunk with --prompt_text (a deep clone), none (a shallow "
                        "clone: the speaker embedding only) without")
    parser.add_argument("--max_attempts", type=positive_int, default=None,
                        help="mars6 only: tries per chunk while its audio is too short or too quiet (default 10)")


def load_options(family: str, parser: argparse.ArgumentParser, args: argparse.Namespace,
                 choice: VoiceChoice) -> dict[str, Any]:
    """The options to load the model of `family` with (see `synthesis_request.load_tts`), after checking that the
    voice and every option given apply to that family."""
    if family != "mars6":
        for name in ("deep_clone_mode", "max_attempts"):
            if getattr(args, name) is not None:
                raise UserError(f"--{name}: an option of mars6 models; this is a {family or 'spark'} model")
        return {"device": args.device, "lm_dtype": args.lm_dtype}
    from tts_codec.tts.mars6 import Mars6Options, Mars6TTS

    require_mode(Mars6TTS, choice.mode)
    if getattr(args, "save_voice", None):
        raise UserError("--save_voice: a mars6 model has no saved voices (its voice is the --prompt_wav recording)")
    given = [f"--{name}" for name in SPARK_ONLY if getattr(args, name) != parser.get_default(name)]
    if given:
        raise UserError(f"{given[0]}: an option of spark models; a mars6 model samples with top-p backoff and RAS "
                        "(--top_p, --seed, --use_cache)")
    mode = args.deep_clone_mode or ("per-chunk" if choice.prompt_text else "none")
    if mode == "fixed-ref" and not choice.prompt_text:
        raise UserError("--deep_clone_mode fixed-ref: a deep clone needs --prompt_text (the reference's transcript)")
    top_p = args.top_p if args.top_p is not None else Mars6Options.top_p
    attempts = args.max_attempts or Mars6Options.max_attempts
    options = Mars6Options(top_p=top_p, use_cache=args.use_cache, seed=args.seed, deep_clone_mode=mode,
                           max_attempts=attempts)
    return {"device": args.device, "options": options}
