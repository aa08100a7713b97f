#!/usr/bin/env bash
# Kaldi-compatible name for a tts_codec verb:  utils/combine_data.sh [--extra-files 'f1 f2'] [--skip-fix true] [--overwrite true] <dest-dir> <src-dir1> <src-dir2> ...
# Runs `python -m tts_codec.bin.combine_data "$@"`; see its --help. Kaldi-style dashed options (--utt-list) and the
# project's snake_case ones (--utt_list) are both accepted.
# Which python: $PYTHON, else the active venv, else the project's .venv (see utils/find_python.sh).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.combine_data "$@"
