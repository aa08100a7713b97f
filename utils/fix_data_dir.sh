#!/usr/bin/env bash
# Kaldi-compatible name for a tts_codec verb:  utils/fix_data_dir.sh [--utt-extra-files 'f1 f2'] [--spk-extra-files 'f1 f2'] <data-dir>
# Runs `python -m tts_codec.bin.fix_data_dir "$@"`; see its --help. Kaldi-style dashed options (--utt-list) and the
# project's snake_case ones (--utt_list) are both accepted.
# Which python: $PYTHON, else the active venv, else the project's .venv (see utils/find_python.sh).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.fix_data_dir "$@"
