"""The Spark-TTS pipeline: text (+ a reference wav, a saved voice, or attribute levels) -> BiCodec tokens from the
Qwen2 LM -> waveform (bicodec_spark.md sections 5.2, 5.3, 9).

Modes: clone = prompt A (the reference's 32 globals, from its first 6 s) or B (with the reference transcript and
all its semantic tokens); speak = prompt A with a saved `Voice`; create = prompt C (gender, pitch, speed levels;
the LM writes fine values, 32 globals, semantic) or D (fine values pre-filled). Long text is split into sentence
chunks: the first chunk fixes the voice (its globals), every later chunk reuses it, and the audio is concatenated.
Decoding never draws ids beyond the codec's codebooks and, by default, follows the output grammar (voice creation
always yields its globals and semantic tokens: `tts_codec.lm.spark.grammar`). Every output is still checked before
the codec sees it; an undecodable one is drawn again (`max_retries`), then refused.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch

from tts_codec.attributes import parse_gender, parse_level
from tts_codec.codecs.base import Codec
from tts_codec.codecs.inference import decode_batch, encode_batch, load_codec
from tts_codec.data.audio import read_audio
from tts_codec.data.token_file import config_hash
from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.lm.spark.examples import check_codes
from tts_codec.lm.spark.fast_decode import DecodeIds, FastDecodeConfig, FastDecoder
from tts_codec.lm.spark.grammar import GrammarIds, GrammarProcessor, TokenGrammar
from tts_codec.lm.spark.model import load_llm_dir
from tts_codec.lm.spark.vocab import SparkVocab
from tts_codec.tts.generation import SamplingConfig, generate, row_seed
from tts_codec.tts.outputs import Generated, MalformedOutput, parse_output
from tts_codec.tts.text_split import split_text
from tts_codec.tts.voice import Voice

log = logging.getLogger(__name__)
LM_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class GenerationError(UserError):
    """A request whose output stayed undecodable after every retry (the message names the request)."""


@dataclass
class Style:
    """Voice creation: gender and pitch/speed levels (names or 0..4); both fine values given = mode D."""

    gender: str
    pitch: str
    speed: str
    pitch_value: int | None = None
    speed_value: int | None = None

    def __post_init__(self) -> None:
        self.gender, self.pitch, self.speed = parse_gender(self.gender), parse_level(self.pitch), parse_level(
            self.speed)
        if (self.pitch_value is None) != (self.speed_value is None):
            raise UserError("fine-grained control needs both pitch_value and speed_value")
        for name, high in (("pitch_value", 1000), ("speed_value", 10)):
            value = getattr(self, name)
            if value is not None and not 0 <= int(value) <= high:
                raise UserError(f"{name} {value} is outside 0..{high}")

    def attributes(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}


class Reference(NamedTuple):
    """Prompt B's continuation: the reference transcript and all its semantic codes (T,)."""

    text: str
    semantic: np.ndarray


@dataclass
class Request:
    """One text to speak, with exactly one of `voice` (clone / saved voice) or `style` (voice creation)."""

    key: str
    text: str
    voice: Voice | None = None
    reference: Reference | None = None
    style: Style | None = None

    def __post_init__(self) -> None:
        if (self.voice is None) == (self.style is None):
            raise UserError(f"{self.key}: give a voice (clone) or a style (voice creation), not both or neither")
        if self.reference is not None and self.voice is None:
            raise UserError(f"{self.key}: a reference transcript needs the reference's voice")


class Synthesis(NamedTuple):
    """A finished request: (N,) float32 audio, the voice it used (generated for voice creation), the text chunks,
    their semantic codes, and whether every chunk ended with EOS (not cut at max_new_tokens)."""

    wav: np.ndarray
    sample_rate: int
    voice: Voice
    chunks: list[str]
    semantic: list[np.ndarray]
    finished: bool


class SparkTTS:
    """Spark-TTS inference over a loaded codec and LM.

    Args:
        codec: a codec with `semantic` (T,) and `global` (1, 32) streams (BiCodec).
        lm: a transformers causal LM over `vocab`.
        vocab: the Spark vocabulary of the LM's tokenizer.
        max_chars: longest text chunk (0 = never split).
        prompt_join: how prompt B joins transcript and text (none|space|auto).
        sentence_gap: seconds of silence between chunks.
        fast_decode: run our own decoding loop with these shortcuts (`tts_codec.lm.spark.fast_decode`: restricted
            head, bf16 weights, static cache) instead of transformers `generate`; None = `generate`.
        grammar: constrain decoding to the output format of section 5.2 (voice creation then always yields
            exactly the codec's global count and >= 1 semantic token; `tts_codec.lm.spark.grammar`). Off, only
            ids beyond the codec's codebooks are masked (always on: the codec could not decode them).
    """

    family = "spark"
    modes = ("clone", "create", "voice")  # what the web page and the synthesis CLI offer for this family

    def __init__(self, codec: Codec, lm: torch.nn.Module, vocab: SparkVocab, max_chars: int = 300,
                 prompt_join: str = "auto", sentence_gap: float = 0.1, fast_decode: FastDecodeConfig | None = None,
                 grammar: bool = True):
        check_codes(codec.codes_info(), vocab, "codec")
        P.join_texts("a", "b", prompt_join)  # refuses an unknown mode now, not at the first request
        self.codec, self.lm, self.vocab = codec, lm.eval(), vocab
        self.max_chars, self.prompt_join, self.sentence_gap = max_chars, prompt_join, sentence_gap
        streams = codec.token_streams
        self.global_shape = streams["global"].shape
        self.num_globals = int(np.prod(self.global_shape))
        self.semantic_size, self.global_size = streams["semantic"].codebook_size, streams["global"].codebook_size
        self.fast_decoder = None if fast_decode is None else FastDecoder(lm, DecodeIds.from_vocab(vocab), fast_decode)
        ids = GrammarIds.from_vocab(vocab, self.semantic_size, self.global_size, self.num_globals)
        self.grammar = TokenGrammar(ids, lm.get_output_embeddings().weight.shape[0], grammar)

    @classmethod
    def from_dirs(cls, codec_dir: str | os.PathLike, lm_dir: str | os.PathLike, device: str = "cpu",
                  lm_dtype: str = "float32", codec_channels_last: bool = True, **options) -> "SparkTTS":
        """Load a codec model dir (ours or an official BiCodec) and an LLM dir (official layout, or stage 8's).

        `codec_channels_last` (CPU): the codec's pure conv/snake stacks, i.e. BiCodec's DAC wave generator, run
        channels-last (1.2x faster decode measured, output within float rounding; `tts_codec.nn.channels_last`).
        """
        if lm_dtype not in LM_DTYPES:
            raise UserError(f"lm_dtype {lm_dtype!r}: choose one of {sorted(LM_DTYPES)}")
        if not Path(lm_dir).is_dir():
            raise UserError(f"LM dir {lm_dir}: no such directory")
        codec = load_codec(codec_dir, device, channels_last=codec_channels_last and torch.device(device).type == "cpu")
        lm, vocab = load_llm_dir(lm_dir, LM_DTYPES[lm_dtype])
        return cls(codec, lm.to(device), vocab, **options)

    @classmethod
    def from_official_dir(cls, model_dir: str | os.PathLike, **kwargs) -> "SparkTTS":
        """An official Spark-TTS-0.5B root (config.yaml, BiCodec/, LLM/)."""
        return cls.from_dirs(model_dir, Path(model_dir) / "LLM", **kwargs)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)

    @property
    def device(self) -> torch.device:
        return next(self.lm.parameters()).device

    # ------------------------------------------------------------------ voices
    def voice_from_audio(self, audio: np.ndarray, sample_rate: int, prompt_text: str | None = None,
                         max_ref_seconds: float | None = None, source: str = "audio") -> tuple[Voice, Reference | None]:
        """The reference's voice (globals of its first 6 s) and, with a transcript, its prompt-B continuation.

        `max_ref_seconds` trims the reference first (a long reference with a transcript makes a long prompt).
        """
        wav = self.codec.prepare(audio, sample_rate, what=source)
        if max_ref_seconds is not None:
            if max_ref_seconds <= 0:
                raise UserError(f"max_ref_seconds must be > 0, got {max_ref_seconds}")
            wav = wav[: int(max_ref_seconds * self.codec.sample_rate)]
        if len(wav) < self.codec.min_samples:
            raise UserError(f"{source}: reference too short ({len(wav)} samples; the codec needs "
                            f"{self.codec.min_samples})")
        codes = encode_batch(self.codec, [wav], str(self.device))[0]
        voice = Voice(codes["global"], {}, source, self.codec_id())
        if prompt_text is None or not prompt_text.strip():
            return voice, None
        return voice, Reference(prompt_text, codes["semantic"].reshape(-1))

    def voice_from_file(self, path: str | os.PathLike, prompt_text: str | None = None,
                        max_ref_seconds: float | None = None) -> tuple[Voice, Reference | None]:
        audio, sr = read_audio(str(path))
        return self.voice_from_audio(audio, sr, prompt_text, max_ref_seconds, source=str(path))

    def codec_id(self) -> dict[str, str]:
        return {"name": self.codec.name, "config_hash": config_hash(self.codec.config)}

    def check_voice(self, voice: Voice, where: str) -> None:
        """A voice must have this codec's global count and range (another config of it only warns)."""
        codes = voice.global_codes
        if codes.size != self.num_globals or codes.min() < 0 or codes.max() >= self.global_size:
            raise UserError(f"{where}: {codes.size} global codes in [{codes.min()}, {codes.max()}]; this codec needs "
                            f"{self.num_globals} in [0, {self.global_size})")
        if voice.codec and voice.codec != self.codec_id():
            log.warning("%s: voice made with codec %s, synthesising with %s", where, voice.codec, self.codec_id())

    # ------------------------------------------------------------------ one request
    def clone(self, text: str, prompt_wav: str | os.PathLike, prompt_text: str | None = None,
              max_ref_seconds: float | None = None, sampling: SamplingConfig | None = None) -> Synthesis:
        """Zero-shot cloning of `prompt_wav` (prompt B with `prompt_text`, else A)."""
        voice, reference = self.voice_from_file(prompt_wav, prompt_text, max_ref_seconds)
        return self.synthesize_one(Request("clone", text, voice=voice, reference=reference), sampling)

    def speak(self, text: str, voice: Voice, sampling: SamplingConfig | None = None) -> Synthesis:
        """Speak with a saved voice (prompt A)."""
        return self.synthesize_one(Request("speak", text, voice=voice), sampling)

    def create(self, text: str, gender: str, pitch: str = "moderate", speed: str = "moderate",
               pitch_value: int | None = None, speed_value: int | None = None,
               sampling: SamplingConfig | None = None) -> Synthesis:
        """Voice creation from levels (prompt C) or fine values (mode D); `result.voice` can be saved."""
        style = Style(gender, pitch, speed, pitch_value, speed_value)
        return self.synthesize_one(Request("create", text, style=style), sampling)

    def synthesize_one(self, request: Request, sampling: SamplingConfig | None = None) -> Synthesis:
        result = self.synthesize([request], sampling)[0]
        if isinstance(result, GenerationError):
            raise result
        return result

    # ------------------------------------------------------------------ batches
    def synthesize(self, requests: Sequence[Request], sampling: SamplingConfig | None = None,
                   batch_size: int = 1) -> list[Synthesis | GenerationError]:
        """Speak every request; prompts run `batch_size` at a time (left padding, KV cache).

        Returns:
            per request its Synthesis, or the GenerationError that refused it (other requests go on).
        """
        sampling = sampling or SamplingConfig()
        if batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {batch_size}")
        chunks = {r.key: split_text(r.text, self.max_chars) for r in requests}
        if len(chunks) != len(requests):
            raise UserError("synthesize: request keys must be unique")
        for r in requests:
            if r.voice is not None:
                self.check_voice(r.voice, r.key)
        # The first chunk of each request fixes its voice; later chunks need that voice, so they run second.
        first = self._run([(r, 0, chunks[r.key][0], r.voice) for r in requests], sampling, batch_size)
        voices, errors = {}, {}
        for r in requests:
            out = first[(r.key, 0)]
            if isinstance(out, GenerationError):
                errors[r.key] = out
            else:
                voices[r.key] = r.voice or Voice(out.global_codes, {**r.style.attributes(), **out.fine}, "create",
                                                 self.codec_id())
        rest = self._run([(r, i, c, voices[r.key]) for r in requests if r.key in voices
                          for i, c in enumerate(chunks[r.key]) if i > 0], sampling, batch_size)
        outputs = {**first, **rest}
        results: list[Synthesis | GenerationError] = []
        for r in requests:
            gens = [outputs[(r.key, i)] for i in range(len(chunks[r.key]))] if r.key in voices else []
            error = errors.get(r.key) or next((g for g in gens if isinstance(g, GenerationError)), None)
            results.append(error or self._decode(voices[r.key], chunks[r.key], gens, batch_size))
        return results

    def _prompt(self, request: Request, text: str, voice: Voice | None) -> list[int]:
        if voice is None:  # voice creation, first chunk
            s = request.style
            segments = P.control_prompt(text, s.gender, s.pitch, s.speed)
            if s.pitch_value is not None:
                segments += P.acoustic_block(int(s.pitch_value), int(s.speed_value))
        elif request.reference is not None:
            segments = P.tts_prompt(text, voice.global_codes, request.reference.text, request.reference.semantic,
                                    self.prompt_join)
        else:
            segments = P.tts_prompt(text, voice.global_codes)
        return P.encode(segments, self.vocab)

    def _run(self, jobs: list[tuple[Request, int, str, Voice | None]], sampling: SamplingConfig,
             batch_size: int) -> dict[tuple[str, int], Generated | GenerationError]:
        """Generate and check every job (request, chunk index, text, voice or None); undecodable ones are drawn
        again up to `max_retries` times (greedy decoding would only repeat itself, so it gets no retry)."""
        prompts = {(r.key, i): self._prompt(r, text, voice) for r, i, text, voice in jobs}
        creates = {(r.key, i) for r, i, _, voice in jobs if voice is None}
        done: dict[tuple[str, int], Generated | GenerationError] = {}
        reasons: dict[tuple[str, int], str] = {}
        for k, prompt in prompts.items():  # e.g. voice creation's chain of thought before its first semantic token
            needed = self.grammar.min_new_tokens(prompt[-1])
            if sampling.max_new_tokens < needed:
                done[k] = GenerationError(f"{k[0]}: max_new_tokens {sampling.max_new_tokens} is too small: this "
                                          f"prompt needs {needed} new tokens to reach a semantic token")
        pending = sorted((k for k in prompts if k not in done), key=lambda k: len(prompts[k]))
        attempts = 1 + (sampling.max_retries if sampling.do_sample else 0)
        for attempt in range(attempts):
            for start in range(0, len(pending), batch_size):
                batch = pending[start:start + batch_size]
                seeds = [row_seed(sampling.seed, f"{key}\0{i}", attempt) for key, i in batch]
                outs = self._generate([prompts[k] for k in batch], seeds, sampling)
                for k, (ids, finished) in zip(batch, outs):
                    try:
                        done[k] = parse_output(ids, finished, self.vocab, self.semantic_size,
                                               self.num_globals if k in creates else None, self.global_size)
                    except MalformedOutput as err:
                        reasons[k] = str(err) + ("" if finished else
                                                 f" (cut at max_new_tokens {sampling.max_new_tokens})")
                        log.warning("%s chunk %d, attempt %d of %d: %s", k[0], k[1], attempt + 1, attempts, err)
            pending = [k for k in pending if k not in done]
        for k in pending:
            done[k] = GenerationError(f"{k[0]}: no decodable output after {attempts} attempt(s) (chunk {k[1] + 1}): "
                                      f"{reasons[k]}")
        return done

    def _generate(self, prompts: list[list[int]], seeds: list[int], sampling: SamplingConfig):
        if self.fast_decoder is not None:
            return self.fast_decoder.generate(prompts, seeds, sampling, grammar=self.grammar)
        return generate(self.lm, prompts, seeds, sampling, self.vocab.eos_id, self.vocab.pad_id,
                        [GrammarProcessor(self.grammar)])

    def _decode(self, voice: Voice, chunks: list[str], gens: list[Generated], batch_size: int) -> Synthesis:
        glob = voice.global_codes.reshape(self.global_shape)
        items = [{"semantic": g.semantic, "global": glob} for g in gens]
        wavs = [w for start in range(0, len(items), batch_size)
                for w in decode_batch(self.codec, items[start:start + batch_size], device=str(self.device))]
        gap = np.zeros(int(self.sentence_gap * self.sample_rate), dtype=np.float32)
        pieces = [p for w in wavs for p in (gap, w)][1:]
        finished = all(g.finished for g in gens)
        return Synthesis(np.concatenate(pieces).astype(np.float32), self.sample_rate, voice, chunks,
                         [g.semantic for g in gens], finished)
