"""The MARS6 pipeline (mars6_snac.md §5-§6): text + a reference clip -> SNAC patches from MARS6 -> waveform.

Shallow clone conditions on the reference's speaker embedding only; deep clone also prepends the reference
transcript to the text and feeds the reference patches as the global decoder's prefix (`fixed-ref`: the same
reference for every chunk; `per-chunk`: chunk 1 uses the reference, each later chunk the previous chunk's text and
patches). Long text is split into sentence chunks; each chunk is sampled with RAS + top-p and regenerated with a
raised top-p while its audio fails the duration / loudness check (`tts_codec.tts.backoff`).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch

from tts_codec.codecs.base import Codec
from tts_codec.codecs.inference import decode_batch, encode_batch, load_codec
from tts_codec.data.audio import read_audio
from tts_codec.errors import UserError
from tts_codec.lm.mars6.decoding import DecodeOptions, decode_patches
from tts_codec.lm.mars6.examples import level_streams
from tts_codec.lm.mars6.int8 import int8_copy
from tts_codec.lm.mars6.model import Mars6
from tts_codec.lm.mars6.model_dir import load_model_dir
from tts_codec.lm.mars6.patches import group_patches, split_patches
from tts_codec.lm.mars6.speaker_embedding import SpeakerEmbedder
from tts_codec.lm.mars6.text import Mars6Text
from tts_codec.tts.backoff import AudioCheck, TopPBackoff
from tts_codec.tts.generation import row_seed
from tts_codec.tts.text_split import split_text

CLONE_MODES = ("none", "fixed-ref", "per-chunk")
MIN_TRANSCRIPT, MAX_TRANSCRIPT = 4, 300  # deep clone of the first chunk needs a transcript of this many chars


@dataclass
class Mars6Options:
    """Inference settings; defaults are the official ones (§6).

    Attributes:
        top_p, backoff_increment, max_attempts, persist_backoff: see `TopPBackoff`.
        ras_window, ras_threshold: repetition-aware sampling of the coarsest token.
        chars_per_second: the text's minimum duration is chars / this (EOS is masked before it).
        min_lufs: quieter chunks are regenerated. cfg_scale: classifier-free guidance (1 = off).
        deep_clone_mode: none | fixed-ref | per-chunk. exact_rates: 46.875 / 11.72 Hz instead of 48 / 12.
        max_chars: longest chunk. use_cache: KV caches. seed: with the chunk and attempt numbers, seeds sampling.
        quality: the quality prefix. trim_db: silence trimmed off the joined audio (0 = none).
        int8_weights: generate with an int8-weight copy of the model (`tts_codec.lm.mars6.int8`: 1.8x the float
            steps/s on 2 CPU cores, within the tested distance of the float model's token distributions).
    """

    top_p: float = 0.2
    backoff_increment: float = 0.2
    max_attempts: int = 10
    persist_backoff: bool = False
    ras_window: int = 10
    ras_threshold: float = 0.09
    chars_per_second: float = 32.0
    min_lufs: float = -52.0
    cfg_scale: float = 1.0
    deep_clone_mode: str = "per-chunk"
    exact_rates: bool = False
    max_chars: int = 300
    use_cache: bool = True
    seed: int = 0
    quality: int = 48000
    trim_db: float = 33.0
    int8_weights: bool = False

    def __post_init__(self) -> None:
        if self.deep_clone_mode not in CLONE_MODES:
            raise UserError(f"deep_clone_mode {self.deep_clone_mode!r}: expected one of {list(CLONE_MODES)}")
        if self.chars_per_second <= 0 or self.max_chars < 0:
            raise UserError("chars_per_second must be > 0 and max_chars >= 0")


class Reference(NamedTuple):
    """A voice: speaker embedding (D,), the clip's patches (S, P) without EOS, and its transcript (may be None)."""

    speaker: np.ndarray
    patches: np.ndarray
    transcript: str | None


class Mars6Synthesis(NamedTuple):
    wav: np.ndarray
    sample_rate: int
    chunks: list[str]
    patches: list[np.ndarray]  # new patches per chunk
    top_p: list[list[float]]  # top-p of every attempt, per chunk
    finished: bool  # every chunk ended with EOS


def max_steps(num_text_tokens: int) -> int:
    """The official length cap of a chunk: 30 + 2.6 global steps per text token."""
    return 30 + int(2.6 * num_text_tokens)


class Mars6TTS:
    """MARS6 + a SNAC-style codec + a speaker embedder.

    Args:
        codec: a codec whose streams have strides fitting the model's levels (SNAC: 4, 2, 1).
        model, text: the LM and its text front-end.
        embedder: speaker embeddings of reference clips (the extractor stage 3 used).
    """

    family = "mars6"
    #: what a user may ask of this family (the web page and the synthesis CLI offer these): MARS6 clones a
    #: reference voice; it has no voice creation from attributes and no saved-voice files.
    modes = ("clone",)

    def __init__(self, codec: Codec, model: Mars6, text: Mars6Text, embedder: SpeakerEmbedder,
                 options: Mars6Options | None = None):
        self.codec, self.model, self.text, self.embedder = codec, model.eval(), text, embedder
        self.options = options or Mars6Options()
        self._int8_model: Mars6 | None = None
        if embedder.dim != model.cfg.speaker_dim:
            raise UserError(f"speaker extractor {embedder.name} gives {embedder.dim}-d embeddings; the model was "
                            f"trained on {model.cfg.speaker_dim}-d ones")
        self.streams = level_streams(codec.codes_info(), model.cfg, f"codec {codec.name}")

    @classmethod
    def from_dirs(cls, codec_dir: str | os.PathLike, lm_dir: str | os.PathLike, device: str = "cpu",
                  speaker_model_dir: str | None = None, options: Mars6Options | None = None) -> "Mars6TTS":
        model, text, config = load_model_dir(lm_dir)
        embedder = SpeakerEmbedder.from_config(config.get("speaker_embedding") or {}, speaker_model_dir, device)
        # SNAC stays channels-first: its depthwise convs ran slower channels-last (6.42 s against 4.95 s for 10 s)
        return cls(load_codec(codec_dir, device), model.to(device), text, embedder, options)

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, device: str = "cpu",
                        options: Mars6Options | None = None) -> "Mars6TTS":
        """The pipeline of a packed mars6 model dir (`tts_codec.bin.pack_model`); another family's dir is refused."""
        from tts_codec.tts.model_dir import load_model_dir as load_packed, model_family

        family = model_family(model_dir)
        if family and family != cls.family:
            raise UserError(f"{model_dir}: a {family} model dir; Mars6TTS loads mars6 ones (use "
                            "tts_codec.tts.model_dir.load_model_dir for any family)")
        return load_packed(model_dir, device=device, options=options)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------ references
    def reference_from_audio(self, audio: np.ndarray, sample_rate: int, transcript: str | None = None,
                             source: str = "audio") -> Reference:
        wav = self.codec.prepare(audio, sample_rate, what=source)
        speaker = self.embedder.embed(wav, self.sample_rate)
        codes = encode_batch(self.codec, [wav], str(self.device))[0]
        cfg = self.model.cfg
        try:
            patches = group_patches([codes[s] for s in self.streams], cfg.levels, cfg.codebook_size, add_eos=False)
        except UserError:
            patches = np.zeros((0, cfg.patch_size), dtype=np.int64)
        return Reference(speaker, patches[:-1], transcript)  # the last patch may hold padding (§5)

    def reference_from_file(self, path: str | os.PathLike, transcript: str | None = None) -> Reference:
        audio, sr = read_audio(os.fspath(path))
        return self.reference_from_audio(audio, sr, transcript, source=str(path))

    # ------------------------------------------------------------------ synthesis
    def clone(self, text: str, prompt_wav: str | os.PathLike, prompt_text: str | None = None) -> Mars6Synthesis:
        """Speak `text` in the voice of `prompt_wav` (deep clone when the options and a transcript allow it)."""
        return self.synthesize(text, self.reference_from_file(prompt_wav, prompt_text))

    def clone_texts(self, texts: list[str], prompt_wav: str | os.PathLike, prompt_text: str | None = None,
                    seed: int | None = None) -> list[Mars6Synthesis]:
        """Speak every text in the voice of `prompt_wav` (its embedding and patches computed once); `seed`
        replaces the options' seed for these texts."""
        reference = self.reference_from_file(prompt_wav, prompt_text)
        options = self.options
        if seed is not None:
            self.options = replace(options, seed=int(seed))
        try:
            return [self.synthesize(text, reference) for text in texts]
        finally:
            self.options = options

    def create(self, *args, **kwargs):
        """MARS6 has no voice creation: refused with the way to go."""
        raise UserError(no_creation_message())

    speak = create  # no saved voices either: a voice is a reference recording

    def synthesize(self, text: str, reference: Reference) -> Mars6Synthesis:
        opts = self.options
        chunks = split_text(text, opts.max_chars) if opts.max_chars else [text.strip()]
        if not chunks:
            raise UserError("nothing to say: the text is empty")
        backoff = TopPBackoff(opts.top_p, opts.backoff_increment, opts.max_attempts, opts.persist_backoff)
        deep = opts.deep_clone_mode != "none"
        first = (reference.transcript, reference.patches) if deep and _usable(reference) else None
        prefix, wavs, new, tried, finished = first, [], [], [], True
        for index, chunk in enumerate(chunks):
            result, top_ps = self._chunk(index, chunk, reference.speaker, prefix, backoff)
            patches, wav, ended = result
            wavs.append(wav)
            new.append(patches)
            tried.append(top_ps)
            finished &= ended
            if opts.deep_clone_mode == "per-chunk" and len(patches):
                prefix = (chunk, patches)
        wav = np.concatenate(wavs).astype(np.float32)
        if opts.trim_db and wav.size:
            import librosa

            wav = librosa.effects.trim(wav, top_db=opts.trim_db)[0]
        return Mars6Synthesis(wav, self.sample_rate, chunks, new, tried, finished)

    def _chunk(self, index: int, chunk: str, speaker: np.ndarray, prefix, backoff: TopPBackoff):
        opts, cfg = self.options, self.model.cfg
        ids = self.text.encode(f"{prefix[0]} {chunk}" if prefix else chunk, opts.quality)
        step_rate = 12.0 if not opts.exact_rates else self.sample_rate / self.codec.hop_length / max(cfg.levels)
        min_seconds = len(chunk) / opts.chars_per_second
        decode = DecodeOptions(max_steps=max_steps(len(ids)), min_steps=math.ceil(min_seconds * step_rate),
                               ras_window=opts.ras_window, ras_threshold=opts.ras_threshold,
                               cfg_scale=opts.cfg_scale, use_cache=opts.use_cache)
        memory = self.memory(ids, speaker)
        check = AudioCheck(min_seconds, opts.min_lufs)

        def attempt(top_p: float, number: int):
            decode.top_p = top_p
            generator = torch.Generator(device=self.device).manual_seed(row_seed(opts.seed, f"{index}", number))
            out = decode_patches(self.generating_model(), memory, decode, generator, prefix[1] if prefix else None)
            return out.patches, self.decode(out.patches), out.ended

        def ok(result) -> bool:
            patches = result[0]
            return check.passes(result[1], self.sample_rate, len(patches) / step_rate)

        return backoff.run_chunk(attempt, ok)

    def generating_model(self) -> Mars6:
        """The model the patches are generated with: the float one, or its int8 copy (made on first use) when
        `options.int8_weights`."""
        if not self.options.int8_weights:
            return self.model
        if self._int8_model is None:
            self._int8_model = int8_copy(self.model)
        return self._int8_model

    def memory(self, ids: list[int], speaker: np.ndarray):
        """Encoder memory of one chunk: 1 row, or [conditional, unconditional] rows under CFG."""
        rows = 2 if self.options.cfg_scale != 1.0 else 1
        text = torch.tensor([ids] * rows, device=self.device)
        spk = torch.from_numpy(np.asarray(speaker, dtype=np.float32)).to(self.device)[None].expand(rows, -1)
        drop = torch.tensor([False, True][:rows], device=self.device)
        with torch.inference_mode():
            return self.model.encode(text, torch.ones_like(text, dtype=torch.bool), spk, drop=drop)

    def decode(self, patches: np.ndarray) -> np.ndarray:
        """(S, P) patches -> waveform (empty for no patch)."""
        if len(patches) == 0:
            return np.zeros(0, dtype=np.float32)
        cfg = self.model.cfg
        codes = dict(zip(self.streams, split_patches(patches, cfg.levels, cfg.codebook_size)))
        return decode_batch(self.codec, [codes], device=str(self.device))[0]


def no_creation_message(option: str = "voice creation") -> str:
    return (f"{option}: the mars6 family has no voice creation or saved voices; it clones a reference recording "
            "(--prompt_wav, with --prompt_text for a deep clone)")


def _usable(reference: Reference) -> bool:
    """Deep clone needs a transcript of 4-300 characters and at least one reference patch (§5 guard)."""
    text = (reference.transcript or "").strip()
    return MIN_TRANSCRIPT <= len(text) <= MAX_TRANSCRIPT and len(reference.patches) > 0
