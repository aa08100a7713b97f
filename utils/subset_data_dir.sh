#!/usr/bin/env bash
# Kaldi-compatible name for a tts_codec verb:  utils/subset_data_dir.sh [--first|--last|--per-spk|--speakers|--shortest] <src-dir> <N> <dest-dir>  |  (--utt-list|--spk-list) <list> <src-dir> <dest-dir>
# Runs `python -m tts_codec.bin.subset_data_dir "$@"`; see its --help. Kaldi-style dashed options (--utt-list) and the
# project's snake_case ones (--utt_list) are both accepted.
# Which python: $PYTHON, else the active venv, else the project's .venv (see utils/find_python.sh).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.subset_data_dir "$@"
