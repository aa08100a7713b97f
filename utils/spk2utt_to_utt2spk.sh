#!/usr/bin/env bash
# Kaldi-compatible name for a tts_codec verb:  utils/spk2utt_to_utt2spk.sh [<spk2utt>|-] > utt2spk
# Runs `python -m tts_codec.bin.spk2utt_to_utt2spk "$@"`; see its --help. Kaldi-style dashed options (--utt-list) and the
# project's snake_case ones (--utt_list) are both accepted.
# Which python: ${PYTHON:-python}. Source the recipe's path.sh first (it activates the tts_codec venv), or set
# PYTHON=/path/to/tts_codec/.venv/bin/python.
exec "${PYTHON:-python}" -m tts_codec.bin.spk2utt_to_utt2spk "$@"
