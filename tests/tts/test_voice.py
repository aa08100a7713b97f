from __future__ import annotations

import json

import numpy as np
import pytest

from tts_codec.errors import UserError
from tts_codec.tts.voice import Voice, load_voice


def test_voice_file_round_trip(tmp_path):
    voice = Voice(np.arange(32) * 7, {"gender": "female", "pitch": "low", "pitch_value": 230}, "ref.wav",
                  {"name": "bicodec", "config_hash": "abc"})
    path = voice.save(tmp_path / "v.json")
    back = load_voice(path)
    assert back.global_codes.dtype == np.int64 and np.array_equal(back.global_codes, voice.global_codes)
    assert (back.attributes, back.source, back.codec) == (voice.attributes, voice.source, voice.codec)


@pytest.mark.parametrize("content, match", [
    (None, "no such file"),
    ("not json", "not a voice file"),
    (json.dumps({"global_codes": [1, 2]}), "not a tts_codec.voice file"),
    (json.dumps({"format": "tts_codec.voice", "version": 9, "global_codes": [1]}), "version 9"),
    (json.dumps({"format": "tts_codec.voice", "version": 1, "global_codes": [1, -2]}), "non-negative"),
    (json.dumps({"format": "tts_codec.voice", "version": 1, "global_codes": []}), "non-empty"),
    (json.dumps({"format": "tts_codec.voice", "version": 1, "global_codes": [1], "attributes": {"age": 3}}),
     "unknown key"),
])
def test_bad_voice_files_are_refused_by_name(tmp_path, content, match):
    path = tmp_path / "v.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=match) as err:
        load_voice(path)
    assert str(path) in str(err.value)
