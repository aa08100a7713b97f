"""Gender labels from corpus metadata (`utt2gender`, else `spk2gender` via utt2spk); no classifier guesses one.

Spark-TTS tags gender with a WavLM classifier that ships nowhere offline, so an utterance without metadata is
labelled `unknown` (and gets no pitch level, whose boundaries depend on gender).
"""
from __future__ import annotations

from tts_codec.attributes import parse_gender
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError

UNKNOWN = "unknown"


def metadata_genders(data: DataDir) -> dict[str, str]:
    """utt -> "female" / "male" / "unknown" for every utterance of `data`.

    Raises:
        UserError: naming the file and utterance or speaker for a value other than female/male, f/m, 0/1, unknown.
    """
    utt2gender = data.extra.get("utt2gender", {})
    spk2gender = data.extra.get("spk2gender", {})
    genders = {}
    for utt in data.utt_ids:
        spk = data.utt2spk[utt]
        genders[utt] = UNKNOWN
        for name, key, value in (("utt2gender", utt, utt2gender.get(utt)), ("spk2gender", spk, spk2gender.get(spk))):
            if value is None or value.strip().lower() == UNKNOWN:
                continue
            try:
                genders[utt] = parse_gender(value)
            except UserError as err:
                raise UserError(f"{data.path}/{name}: entry {key}: {err}") from None
            break
    return genders
