"""Fixtures of the attribute-label tests: an eSpeak data dir whose pitch and rate settings are known answers."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir

SENTENCE = "The birch canoe slid on the smooth planks."
#: (speaker, eSpeak voice, gender): one male and one female variant.
VOICES = (("spk1", "en-us+m3", "m"), ("spk2", "en-us+f2", "f"))
PITCHES = (20, 40, 60, 80)  # at rate 140
RATES = (90, 130, 170, 210)  # at pitch 50


@pytest.fixture(scope="session")
def prosody_dir(tmp_path_factory, espeak_engine) -> Path:
    """A 16-utterance data dir: each voice says SENTENCE at four eSpeak pitches and at four rates, with
    utt2espeak_pitch / utt2espeak_rate / utt2gender / utt2lang as the synthetic corpus writes them (24 kHz)."""
    from tts_codec.data.synth.espeak import Prosody, synthesize

    root = tmp_path_factory.mktemp("prosody")
    (root / "wav").mkdir()
    data = DataDir({}, {}, extra={"utt2espeak_pitch": {}, "utt2espeak_rate": {}, "utt2gender": {}, "utt2lang": {}})
    for spk, voice, gender in VOICES:
        settings = [(p, 140) for p in PITCHES] + [(50, r) for r in RATES]
        for i, (pitch, rate) in enumerate(settings):
            utt = f"{spk}_{i:02d}"
            wav = synthesize(SENTENCE, Prosody(voice, rate=rate, pitch=pitch), 24000, espeak_engine)
            write_wav(root / "wav" / f"{utt}.wav", wav, 24000)
            data.wav_scp[utt] = str(root / "wav" / f"{utt}.wav")
            data.utt2spk[utt], data.text[utt] = spk, SENTENCE
            for name, value in (("utt2espeak_pitch", pitch), ("utt2espeak_rate", rate), ("utt2gender", gender),
                                ("utt2lang", "en-us")):
                data.extra[name][utt] = str(value)
    return data.save(root / "data")
