"""Attribute levels and gender labels shared by evaluation and the LMs that are conditioned on them.

Spark-TTS quantises pitch (mel of the mean F0, per gender) and speaking rate (syllables per second, per language)
into five levels with fixed percentile boundaries (bicodec_spark.md section 6); genders are female (Spark id 0) and
male (1). Measuring F0 or speed is evaluation's business (`tts_codec.eval.attributes`); this module only names,
parses and bins.
"""
from __future__ import annotations

import json

import numpy as np

from tts_codec.errors import UserError

LEVELS = ("very_low", "low", "moderate", "high", "very_high")
GENDERS = ("female", "male")  # Spark ids: female 0, male 1
#: Boundaries (very_low <, low <, high >, very_high >): pitch in mel per gender, speed in syllables/s per language.
DEFAULT_BOUNDARIES = {
    "pitch": {
        "male": {"very_low": 144.3, "low": 163.2, "high": 211.0, "very_high": 249.5},
        "female": {"very_low": 224.3, "low": 257.5, "high": 313.2, "very_high": 352.6},
    },
    "speed": {
        "en": {"very_low": 2.553, "low": 3.306, "high": 4.720, "very_high": 5.464},
        "zh": {"very_low": 2.677, "low": 3.540, "high": 5.166, "very_high": 6.072},
    },
}


def hz_to_mel(f0: float) -> float:
    """Mel scale used by Spark-TTS for pitch levels."""
    return 2595.0 * np.log10(1.0 + f0 / 700.0)


def to_level(value: float, bounds: dict[str, float]) -> str:
    """Map a value to one of LEVELS given the four boundaries."""
    if value > bounds["very_high"]:
        return "very_high"
    if value > bounds["high"]:
        return "high"
    if value < bounds["very_low"]:
        return "very_low"
    if value < bounds["low"]:
        return "low"
    return "moderate"


def parse_level(label: str) -> str:
    """A level name or Spark id 0..4 -> the level name; UserError otherwise."""
    label = label.strip().lower()
    if label.isdigit() and int(label) < len(LEVELS):
        return LEVELS[int(label)]
    if label not in LEVELS:
        raise UserError(f"unknown attribute level {label!r}; expected one of {LEVELS} or 0..4")
    return label


def parse_gender(label: str) -> str:
    """female/male, f/m or Spark ids 0/1 -> "female"/"male"; UserError otherwise."""
    key = label.strip().lower()
    table = {"female": "female", "f": "female", "0": "female", "male": "male", "m": "male", "1": "male"}
    if key not in table:
        raise UserError(f"unknown gender label {label!r}; expected female/male, f/m or 0/1")
    return table[key]


def load_boundaries(path: str | None) -> dict:
    """DEFAULT_BOUNDARIES, with the sections of a JSON file of the same shape overriding them."""
    bounds = json.loads(json.dumps(DEFAULT_BOUNDARIES))
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                user = json.load(handle)
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"--attr_boundaries {path}: {err}") from None
        for attr, table in user.items():
            for key, levels in table.items():
                if set(levels) != {"very_low", "low", "high", "very_high"}:
                    raise UserError(f"{path}: {attr}.{key} needs keys very_low, low, high, very_high")
                bounds.setdefault(attr, {})[key] = levels
    return bounds
