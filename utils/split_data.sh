#!/usr/bin/env bash
# Kaldi-compatible name for a tts_codec verb:  utils/split_data.sh [--per-utt] <data-dir> <num-to-split>   # writes <data-dir>/split<N>/<1..N> (per speaker) or split<N>utt/ (--per-utt)
# Runs `python -m tts_codec.bin.split_data "$@"`; see its --help. Kaldi-style dashed options (--utt-list) and the
# project's snake_case ones (--utt_list) are both accepted.
# Which python: $PYTHON, else the active venv, else the project's .venv (see utils/find_python.sh).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.split_data "$@"
