"""What a user asks the synthesis CLI or the web demo for, checked before any model loads: the model (a packed dir,
an official Spark-TTS dir, or a recipe's codec + LM pair), the voice (clone a wav, create one from attribute
levels, or a saved voice file) and the texts; then the speaking of them with one consistent voice."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tts_codec.attributes import parse_gender, parse_level
from tts_codec.cli import non_negative_int, number_type, positive_float, positive_int, str2bool
from tts_codec.data.audio import read_audio
from tts_codec.errors import UserError
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.voice import Voice, load_voice


def add_model_options(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """--model_dir, or --codec_dir with --lm_dir; --device, --lm_dtype. `several`: --model_dir may be repeated
    (a list, e.g. the web page offering several models)."""
    parser.add_argument("--model_dir", action="append" if several else "store",
                        help="a packed model dir (tts_codec.bin.pack_model) or an official Spark-TTS dir"
                        + ("; repeat it for several models" if several else ""))
    parser.add_argument("--codec_dir", help="instead of --model_dir: a recipe's exp/codec_<tag>/model ...")
    parser.add_argument("--lm_dir", help="... with its exp/lm_<tag>/model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lm_dtype", default="float32", choices=("float32", "bfloat16"))


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    """The `SamplingConfig` fields as options (official defaults: temperature 0.8, top_k 50, top_p 0.95)."""
    defaults = SamplingConfig()
    parser.add_argument("--seed", type=int, default=defaults.seed, help="the same seed gives the same speech")
    parser.add_argument("--do_sample", type=str2bool, default=defaults.do_sample, help="false: greedy")
    parser.add_argument("--temperature", type=positive_float, default=defaults.temperature)
    parser.add_argument("--top_k", type=non_negative_int, default=defaults.top_k, help="0: no top-k filter")
    parser.add_argument("--top_p", type=number_type(float, low=0, high=1, low_open=True), default=None,
                        help=f"nucleus sampling (default: spark {defaults.top_p}, mars6 its official 0.2)")
    parser.add_argument("--max_new_tokens", type=positive_int, default=defaults.max_new_tokens)
    parser.add_argument("--max_retries", type=non_negative_int, default=defaults.max_retries,
                        help="new draws for an undecodable output")
    parser.add_argument("--use_cache", type=str2bool, default=defaults.use_cache, help="KV cache")


def sampling_from_args(args: argparse.Namespace) -> SamplingConfig:
    """The SamplingConfig of options added by `add_sampling_options` (an unset --top_p: the spark default)."""
    values = {f.name: getattr(args, f.name) for f in fields(SamplingConfig)}
    return SamplingConfig(**{**values, "top_p": values["top_p"] or SamplingConfig.top_p})


def load_tts(model_dir: str | None = None, codec_dir: str | None = None, lm_dir: str | None = None,
             **options: Any) -> Any:
    """The TTS object of `model_dir`, or of the `codec_dir` + `lm_dir` pair (exactly one of the two forms)."""
    from tts_codec.tts.model_dir import load_model_dir, model_family

    if model_dir and (codec_dir or lm_dir):
        raise UserError("give --model_dir, or --codec_dir with --lm_dir, not both")
    if model_dir:
        return load_model_dir(model_dir, **options)
    if not (codec_dir and lm_dir):
        raise UserError("no model: give --model_dir DIR, or --codec_dir and --lm_dir together")
    if model_family(lm_dir=lm_dir) == "mars6":
        from tts_codec.tts.mars6 import Mars6TTS

        if options.pop("lm_dtype", "float32") != "float32":
            raise UserError("--lm_dtype: the mars6 family runs in float32 only")
        return Mars6TTS.from_dirs(codec_dir, lm_dir, **options)
    from tts_codec.tts.spark import SparkTTS

    return SparkTTS.from_dirs(codec_dir, lm_dir, **options)


@dataclass
class VoiceChoice:
    """Exactly one way to pick the voice: clone `prompt_wav` (with its optional transcript), create one from
    `gender` (+ pitch/speed levels), or speak with a saved `voice` file."""

    prompt_wav: str | None = None
    prompt_text: str | None = None
    gender: str | None = None
    pitch: str | None = None
    speed: str | None = None
    voice: str | None = None

    def __post_init__(self) -> None:
        given = [name for name, value in (("--prompt_wav", self.prompt_wav), ("--gender", self.gender),
                                          ("--voice", self.voice)) if value]
        if len(given) != 1:
            raise UserError(f"choose the voice with exactly one of --prompt_wav (clone), --gender (voice creation, "
                            f"with --pitch/--speed) or --voice (a saved voice); got {given or 'none'}")
        if self.prompt_text and not self.prompt_wav:
            raise UserError("--prompt_text is the transcript of --prompt_wav; give the wav too")
        if (self.pitch or self.speed) and not self.gender:
            raise UserError("--pitch/--speed set the created voice: give --gender too (a cloned or saved voice "
                            "keeps its own)")
        for option, value, parse in (("--gender", self.gender, parse_gender), ("--pitch", self.pitch, parse_level),
                                     ("--speed", self.speed, parse_level)):
            try:
                if value:
                    parse(value)
            except UserError as err:
                raise UserError(f"{option}: {err}") from None
        if self.prompt_wav and not Path(self.prompt_wav).is_file():
            raise UserError(f"--prompt_wav {self.prompt_wav}: no such file")
        if self.prompt_wav:
            read_audio(self.prompt_wav)  # unreadable audio fails now, before the models load
        if self.voice:
            load_voice(self.voice)

    @property
    def mode(self) -> str:
        return "clone" if self.prompt_wav else "create" if self.gender else "voice"


def check_text(text: str, where: str) -> str:
    """The text stripped; empty text (or only blanks) is refused naming `where`."""
    if not text or not text.strip():
        raise UserError(f"{where}: the text is empty")
    return text.strip()


def read_text_file(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line; a file with none is refused."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"--text_file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"--text_file {path}: not readable UTF-8 text ({type(err).__name__})") from None
    texts = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if not texts:
        raise UserError(f"--text_file {path}: no text (every line is blank)")
    return texts


def speak_texts(tts: Any, texts: Sequence[str], choice: VoiceChoice, sampling: SamplingConfig) -> list[Any]:
    """Speak every text in one voice: the clone's, the saved one, or the one created for the first text (a mars6
    model: clone only, with the seed of `sampling`; its other settings are the model's `options`)."""
    require_mode(tts, choice.mode)
    if tts.family == "mars6":
        return tts.clone_texts(list(texts), choice.prompt_wav, choice.prompt_text, seed=sampling.seed)
    if choice.mode == "clone":
        voice, reference = tts.voice_from_file(choice.prompt_wav, choice.prompt_text)
    elif choice.mode == "voice":
        voice, reference = load_voice(choice.voice), None
    else:
        first = tts.create(texts[0], choice.gender, choice.pitch or "moderate", choice.speed or "moderate",
                           sampling=sampling)
        return [first] + [tts.speak(text, first.voice, sampling) for text in texts[1:]]
    from tts_codec.tts.spark import Request

    return [tts.synthesize_one(Request(choice.mode, text, voice=voice, reference=reference), sampling)
            for text in texts]


#: how a user asks for each voice mode
MODE_OPTIONS = {"clone": "--prompt_wav (voice clone)", "create": "--gender (voice creation)",
                "voice": "--voice (a saved voice)"}


def require_mode(tts: Any, mode: str) -> None:
    """Refuse a voice mode the model's family does not offer (`tts.modes`; a TTS object or its class)."""
    if mode not in tts.modes:
        offered = ", ".join(MODE_OPTIONS[m] for m in tts.modes)
        raise UserError(f"{MODE_OPTIONS[mode]}: a {tts.family} model does not offer this; it offers {offered}")


def wav_of(result: Any) -> np.ndarray:
    """The result's audio; an empty one is an error, never a silent file."""
    if result.wav.size == 0:
        raise UserError("the model produced no audio for this text")
    return result.wav
