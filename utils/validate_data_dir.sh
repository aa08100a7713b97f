#!/usr/bin/env bash
# Kaldi-compatible name for a tts_codec verb:  utils/validate_data_dir.sh [--no-feats] [--no-text] [--no-wav] [--no-spk-sort] [--non-print] [--strict [--no-audio-check]] <data-dir>
# Runs `python -m tts_codec.bin.validate_data_dir "$@"`; see its --help. Kaldi-style dashed options (--utt-list) and the
# project's snake_case ones (--utt_list) are both accepted.
# Which python: $PYTHON, else the active venv, else the project's .venv (see utils/find_python.sh).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.validate_data_dir "$@"
