"""eSpeak NG as a speech source: the ctypes library from pip `espeakng-loader`, or the `espeak-ng` CLI as a fallback.

Facts (evaluation.md §10, re-checked with espeakng-loader 0.2.4 / libespeak-ng 1.52): the engine renders 16-bit mono
at 22050 Hz with peaks of about 0.6-0.7 full scale, so a 0.8 gain goes on before resampling to keep soxr from
clipping. `espeak_SetVoiceByName` knows `en`, `en-us`, `en-gb-x-rp`, ... but not `en-gb` (EE_NOT_FOUND, and the
previous voice silently stays), so language tags are resolved through `espeak_ListVoices`; an unknown `+variant` is
also ignored silently, so variants are checked against `espeak-ng-data/voices/!v`.

NOTE(synth): libespeak-ng keeps function-static state between calls (wavegen.c `Flutter_ix`, resonator memory), so
the same text comes out different on a second call, and the random generator must be seeded
(`espeak_ng_SetRandSeed`). The library engine therefore loads a fresh copy of the library for every utterance and
unloads it afterwards (about 7 ms): every utterance is then byte-identical whatever was synthesised before it.
https://github.com/espeak-ng/espeak-ng/blob/master/src/libespeak-ng/wavegen.c
"""
from __future__ import annotations

import _ctypes
import contextlib
import ctypes
import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile
import soxr

from tts_codec.errors import UserError

log = logging.getLogger(__name__)

ENGINE_SR = 22050
#: evaluation.md §10.2: `sox -v 0.8`; espeak peaks at 0.6-0.7 and the resampler would clip otherwise.
GAIN = 0.8
# espeak_PARAMETER ids (speak_lib.h)
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
_SYNCHRONOUS, _CHARS_UTF8, _EE_OK = 2, 1, 0
_IPA_MODE = 0x02
_LOCK = threading.Lock()  # the library is one global state machine


class EngineUnavailable(UserError):
    """No eSpeak NG engine on this machine (neither the espeakng-loader library nor the espeak-ng program).

    Its own class so that callers (and tests that skip without an engine) can tell a missing engine from a
    synthesis error.
    """


@dataclass(frozen=True)
class Prosody:
    """eSpeak settings for one utterance.

    Attributes:
        voice: `LANG+VARIANT`, e.g. `en-us+m3` (variants m1-m8, f1-f5, whisper, ... in espeak-ng-data/voices/!v).
        rate: speaking rate in words per minute (espeakRATE, 80-450).
        pitch: base pitch 0-100 (espeakPITCH; 50 is the voice's own).
        pitch_range: intonation range 0-100 (espeakRANGE; 0 is monotone).
        word_gap: pause between words in 10 ms units (espeakWORDGAP).
        volume: amplitude 0-200 (espeakVOLUME, 100 default).
        seed: seed of eSpeak's random generator (breath noise, Klatt voices).
    """

    voice: str
    rate: int = 130
    pitch: int = 50
    pitch_range: int = 50
    word_gap: int = 2
    volume: int = 100
    seed: int = 0


def _data_dir_variants(data_path: Path) -> set[str]:
    return {p.name for p in (data_path / "voices" / "!v").iterdir()}


def split_voice(voice: str) -> tuple[str, str | None]:
    """`en-us+m3` -> (`en-us`, `m3`); `en` -> (`en`, None)."""
    lang, _, variant = voice.partition("+")
    return lang, (variant or None)


class LibraryEngine:
    """libespeak-ng through ctypes (pip `espeakng-loader`); see the module NOTE for the reload per utterance."""

    name = "libespeak-ng"

    def __init__(self, library_path: str, data_path: str):
        self.library_path, self.data_path = library_path, data_path
        self.variants = _data_dir_variants(Path(data_path))
        self._samples: list[np.ndarray] = []
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._callback = proto(self._collect)  # kept alive: the library holds a raw pointer to it
        self._warned_shared = False
        with self._session() as lib:
            lib.espeak_Info.restype = ctypes.c_char_p
            self.version = lib.espeak_Info(None).decode()
            self._languages = self._list_languages(lib)

    def _collect(self, wav, num_samples: int, events) -> int:
        if num_samples > 0:
            self._samples.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # 0 = continue synthesis

    @contextlib.contextmanager
    def _session(self) -> Iterator[ctypes.CDLL]:
        """A freshly loaded and initialised library, unloaded again on exit (see the module NOTE)."""
        with _LOCK:
            lib = ctypes.CDLL(self.library_path)
            try:
                rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, self.data_path.encode(), 0)
                if rate != ENGINE_SR:
                    raise UserError(f"{self.library_path}: espeak_Initialize returned {rate}, not {ENGINE_SR}")
                lib.espeak_SetSynthCallback(self._callback)
                yield lib
            finally:
                lib.espeak_Terminate()
                handle = lib._handle
                del lib
                _ctypes.dlclose(handle)
                self._check_unloaded()

    def _check_unloaded(self) -> None:
        maps = Path("/proc/self/maps")
        if self._warned_shared or not maps.exists():
            return
        if os.path.realpath(self.library_path) in maps.read_text():
            self._warned_shared = True
            log.warning("%s stays loaded by another user in this process: synthesis is not reproducible per "
                        "utterance (eSpeak keeps state between calls)", self.library_path)

    @staticmethod
    def _list_languages(lib) -> dict[str, str]:
        """Language tag -> voice identifier (`en-gb` -> `gmw/en`), first voice wins."""

        class Voice(ctypes.Structure):
            _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p), ("identifier", ctypes.c_char_p),
                        ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                        ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]

        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(Voice))
        voices, table, i = lib.espeak_ListVoices(None), {}, 0
        while voices[i]:
            voice = voices[i].contents
            # `languages` is a list of (priority byte, NUL-terminated tag), ended by a zero priority byte.
            pos = voice.languages
            while ctypes.c_ubyte.from_address(pos).value:
                tag = ctypes.string_at(pos + 1).decode()
                table.setdefault(tag.lower(), voice.identifier.decode())
                pos += 2 + len(tag)
            i += 1
        return table

    def _set_voice(self, lib, voice: str) -> None:
        lang, variant = split_voice(voice)
        if variant is not None and variant not in self.variants:
            raise UserError(f"voice {voice!r}: unknown variant {variant!r}; see {self.data_path}/voices/!v")
        if lib.espeak_SetVoiceByName(voice.encode()) == _EE_OK:
            return
        ident = self._languages.get(lang.lower())
        name = ident + (f"+{variant}" if variant else "") if ident else None
        if name is None or lib.espeak_SetVoiceByName(name.encode()) != _EE_OK:
            raise UserError(f"voice {voice!r}: eSpeak NG {self.version} has no language {lang!r}")

    def synthesize(self, text: str, prosody: Prosody) -> np.ndarray:
        """Render `text`; returns int16 samples at 22050 Hz, shape (N,)."""
        data = text.encode("utf-8")
        with self._session() as lib:
            self._set_voice(lib, prosody.voice)
            lib.espeak_ng_SetRandSeed(ctypes.c_uint(prosody.seed & 0xFFFFFFFF))
            for param, value in ((_RATE, prosody.rate), (_PITCH, prosody.pitch), (_RANGE, prosody.pitch_range),
                                 (_WORDGAP, prosody.word_gap), (_VOLUME, prosody.volume)):
                lib.espeak_SetParameter(param, int(value), 0)
            self._samples = []
            lib.espeak_Synth(ctypes.c_char_p(data), ctypes.c_size_t(len(data) + 1), 0, 0, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
        samples, self._samples = self._samples, []
        return np.concatenate(samples) if samples else np.zeros(0, np.int16)

    def phonemize(self, text: str, voice: str) -> str:
        """IPA phonemes of `text` (words separated by spaces, clauses by spaces too)."""
        with self._session() as lib:
            self._set_voice(lib, voice)
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            buf = ctypes.c_char_p(text.encode("utf-8"))
            ptr = ctypes.pointer(buf)
            clauses = []
            while buf.value:  # the call advances `buf` clause by clause and sets it to NULL at the end
                clauses.append(lib.espeak_TextToPhonemes(ptr, _CHARS_UTF8, _IPA_MODE).decode("utf-8").strip())
        return " ".join(c for c in clauses if c)


class CliEngine:
    """The `espeak-ng` program (Debian: `apt-get install espeak-ng`); a new process per utterance is reproducible."""

    name = "espeak-ng-cli"

    def __init__(self, program: str):
        self.program = program
        out = subprocess.run([program, "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"(\d+)\.(\d+)", out)
        self.version = out.strip()
        # -P (pitch range) arrived in 1.52 (espeak-ng commit b5b3231e).
        self.has_range = bool(match) and (int(match[1]), int(match[2])) >= (1, 52)

    def synthesize(self, text: str, prosody: Prosody) -> np.ndarray:
        """Render `text` with `espeak-ng -w`; returns int16 samples at 22050 Hz, shape (N,)."""
        with tempfile.TemporaryDirectory(prefix="espeak_") as tmp:
            wav = Path(tmp) / "out.wav"
            cmd = [self.program, "-v", prosody.voice, "-s", str(prosody.rate), "-p", str(min(prosody.pitch, 99)),
                   "-g", str(prosody.word_gap), "-a", str(prosody.volume), "-b", "1", "-w", str(wav)]
            if self.has_range:
                cmd += ["-P", str(min(prosody.pitch_range, 99))]
            proc = subprocess.run(cmd + ["--", text], capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not wav.is_file():
                raise UserError(f"{' '.join(cmd[:3])}: espeak-ng failed: {proc.stderr.strip() or proc.returncode}")
            samples, sr = soundfile.read(wav, dtype="int16")
        if sr != ENGINE_SR:
            raise UserError(f"{self.program} wrote {sr} Hz, expected {ENGINE_SR}")
        return samples

    def phonemize(self, text: str, voice: str) -> str:
        """IPA phonemes of `text` via `espeak-ng -q --ipa`."""
        proc = subprocess.run([self.program, "-q", "--ipa", "-v", voice, "--", text],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise UserError(f"{self.program} --ipa -v {voice}: {proc.stderr.strip()}")
        return " ".join(proc.stdout.split())


Engine = LibraryEngine | CliEngine


@functools.lru_cache(maxsize=None)
def get_engine(backend: str = "auto") -> Engine:
    """The shared engine: `library` (espeakng-loader), `cli` (espeak-ng on PATH) or `auto` (library, else cli).

    Raises:
        EngineUnavailable: when the requested backend is not available (for auto: neither is).
        UserError: for an unknown backend name.
    """
    if backend not in ("auto", "library", "cli"):
        raise UserError(f"--engine must be auto, library or cli, not {backend!r}")
    if backend in ("auto", "library"):
        try:
            import espeakng_loader
            return LibraryEngine(espeakng_loader.get_library_path(), espeakng_loader.get_data_path())
        except (ImportError, OSError, RuntimeError) as err:
            if backend == "library":
                raise EngineUnavailable(f"eSpeak NG library unavailable ({err}); pip install espeakng-loader") from None
            log.info("espeakng-loader unavailable (%s); trying the espeak-ng program", err)
    program = shutil.which("espeak-ng")
    if program is None:
        raise EngineUnavailable("no eSpeak NG: pip install espeakng-loader (or apt-get install espeak-ng)")
    return CliEngine(program)


def to_float(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """int16 engine samples -> float32 at `sample_rate`, with the 0.8 gain applied before soxr resampling.

    Returns:
        float32 array, shape (round(N * sample_rate / 22050),).
    """
    wav = samples.astype(np.float32) * (GAIN / 32768.0)
    if sample_rate != ENGINE_SR:
        wav = soxr.resample(wav, ENGINE_SR, sample_rate, quality="HQ")
    return np.clip(wav, -1.0, 1.0).astype(np.float32)


def synthesize(text: str, prosody: Prosody, sample_rate: int = 16000, engine: Engine | None = None) -> np.ndarray:
    """Speak `text` and return float32 audio at `sample_rate`, shape (N,); see `to_float` for the gain."""
    engine = engine or get_engine()
    samples = engine.synthesize(text, prosody)
    if samples.size == 0:
        raise UserError(f"eSpeak produced no audio for {text!r} with voice {prosody.voice!r}")
    return to_float(samples, sample_rate)
