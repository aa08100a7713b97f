# Sourced by the utils/*.sh wrappers: choose the Python that has tts_codec when $PYTHON is unset.
# Order: $PYTHON; the active virtualenv/conda env (`python`); the project's venv <repo>/.venv/bin/python (so the
# wrappers work outside a recipe, without path.sh); else python3. The repo is found through symlinks
# (egs/*/tts1/utils -> ../../../utils).
if [ -z "${PYTHON:-}" ]; then
  __fp_repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
  if [ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ]; then
    PYTHON=python
  elif [ -x "$__fp_repo/.venv/bin/python" ]; then
    PYTHON=$__fp_repo/.venv/bin/python
  else
    PYTHON=python3
  fi
  unset __fp_repo
fi
