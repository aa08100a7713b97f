"""The synthetic speakers: eSpeak NG `LANG+VARIANT` voices, each with its own base pitch, rate and intonation range.

Genders alternate in the table, so the first N speakers are balanced and the last male + last female of them can be
held out. Base F0 measured with librosa.pyin on a Harvard sentence at pitch 50 (libespeak-ng 1.52): male variants
m1-m8 86-107 Hz, female f1-f5 179-212 Hz; pitch 30/70 moves F0 by about -18/+22 %. Rates sit around 130 wpm with a
20 ms word gap, the ASR-friendly setting of evaluation.md §10.2.
"""
from __future__ import annotations

from dataclasses import dataclass

from tts_codec.data.synth.espeak import Prosody
from tts_codec.errors import UserError


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        voice: eSpeak `LANG+VARIANT`.
        lang: language tag written to utt2lang (`en-us`, `en-gb`).
        accent: short Kaldi-safe tag used in speaker ids (`enus`, `engb`, ...).
        gender: `m` or `f` (Kaldi spk2gender convention).
        pitch, rate, pitch_range, word_gap: the speaker's base eSpeak settings (see `Prosody`).
    """

    voice: str
    lang: str
    accent: str
    gender: str
    pitch: int
    rate: int
    pitch_range: int
    word_gap: int = 2

    @property
    def variant(self) -> str:
        return self.voice.partition("+")[2]

    def speaker_id(self, index: int) -> str:
        """Kaldi-safe, fixed-width-prefixed id such as `spk01_enus_m3` (index is 1-based)."""
        return f"spk{index:02d}_{self.accent}_{self.variant}"

    def prosody(self, pitch_delta: int = 0, rate_factor: float = 1.0, seed: int = 0, **overrides) -> Prosody:
        """This speaker's settings moved by an utterance's variation (pitch clipped to 0..100, rate to 80..450)."""
        fields = dict(
            voice=self.voice,
            rate=int(min(450, max(80, round(self.rate * rate_factor)))),
            pitch=int(min(100, max(0, self.pitch + pitch_delta))),
            pitch_range=self.pitch_range,
            word_gap=self.word_gap,
            seed=seed,
        )
        fields.update(overrides)
        return Prosody(**fields)


VOICES: tuple[Voice, ...] = (
    Voice("en-us+m3", "en-us", "enus", "m", pitch=50, rate=130, pitch_range=50),
    Voice("en-us+f2", "en-us", "enus", "f", pitch=50, rate=128, pitch_range=55),
    Voice("en+m7", "en-gb", "engb", "m", pitch=42, rate=132, pitch_range=45),
    Voice("en-gb+f4", "en-gb", "engb", "f", pitch=56, rate=126, pitch_range=60),
    Voice("en-us+m1", "en-us", "enus", "m", pitch=56, rate=135, pitch_range=40),
    Voice("en-us+f3", "en-us", "enus", "f", pitch=44, rate=131, pitch_range=50),
    Voice("en+m4", "en-gb", "engb", "m", pitch=60, rate=124, pitch_range=55),
    Voice("en-gb+f1", "en-gb", "engb", "f", pitch=62, rate=134, pitch_range=45),
    Voice("en-us+m2", "en-us", "enus", "m", pitch=46, rate=127, pitch_range=60, word_gap=3),
    Voice("en-us+f5", "en-us", "enus", "f", pitch=48, rate=137, pitch_range=40),
    Voice("en-gb-x-rp+m5", "en-gb", "enrp", "m", pitch=52, rate=129, pitch_range=50),
    Voice("en-gb-x-rp+f2", "en-gb", "enrp", "f", pitch=40, rate=125, pitch_range=65, word_gap=3),
    Voice("en-us+m6", "en-us", "enus", "m", pitch=64, rate=133, pitch_range=45),
    Voice("en-us-nyc+f1", "en-us", "ennyc", "f", pitch=54, rate=129, pitch_range=55),
    Voice("en-gb-scotland+m8", "en-gb", "ensc", "m", pitch=58, rate=126, pitch_range=50),
    Voice("en-us-nyc+f4", "en-us", "ennyc", "f", pitch=46, rate=132, pitch_range=60),
)


@dataclass(frozen=True)
class Speaker:
    """A voice with its position in the table and its Kaldi speaker id."""

    index: int  # 1-based
    voice: Voice

    @property
    def id(self) -> str:
        return self.voice.speaker_id(self.index)

    @property
    def gender(self) -> str:
        return self.voice.gender


def select_speakers(num_speakers: int, num_test_speakers: int = 2) -> tuple[list[Speaker], list[Speaker]]:
    """The first `num_speakers` voices, split into (seen, held-out); held-out = the last ones, genders balanced.

    Raises:
        UserError: naming --num_speakers / --num_test_speakers when the numbers do not fit the table.
    """
    if num_test_speakers < 0:
        raise UserError(f"--num_test_speakers must be >= 0, got {num_test_speakers}")
    least = num_test_speakers + 2  # at least 2 training speakers besides the held-out ones
    if not least <= num_speakers <= len(VOICES):
        raise UserError(f"--num_speakers must be in {least}..{len(VOICES)} (2 training speakers + "
                        f"--num_test_speakers {num_test_speakers} held out; {len(VOICES)} voices), got {num_speakers}")
    speakers = [Speaker(i + 1, v) for i, v in enumerate(VOICES[:num_speakers])]
    held: list[Speaker] = []
    by_gender = {g: [s for s in reversed(speakers) if s.gender == g] for g in ("m", "f")}
    while len(held) < num_test_speakers:  # alternate genders from the end of the list
        gender = ("m", "f")[len(held) % 2]
        pool = by_gender[gender] or by_gender["f" if gender == "m" else "m"]
        held.append(pool.pop(0))
    seen = [s for s in speakers if s not in held]
    if num_test_speakers >= 2 and {s.gender for s in held} != {"m", "f"}:
        raise UserError(f"--num_speakers {num_speakers}: cannot hold out speakers of both genders")
    return seen, sorted(held, key=lambda s: s.index)

