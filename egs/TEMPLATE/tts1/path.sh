# Sourced by every recipe (. ./path.sh): the tools venv, locale and thread settings. No machine paths here:
# corpus roots live in db.sh or the environment; site-specific additions go into local/path.sh.
TTS_CODEC_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
export TTS_CODEC_ROOT
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$TTS_CODEC_ROOT/.venv/bin/activate" ]; then
  # shellcheck disable=SC1091
  . "$TTS_CODEC_ROOT/.venv/bin/activate"
fi
export PYTHON=${PYTHON:-python}
export LC_ALL=C                 # Kaldi sort order for every data-dir file
export PYTHONIOENCODING=UTF-8
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # jobs run in parallel: one BLAS thread each unless told otherwise
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}     # never download weights behind the user's back
export PYTHONUNBUFFERED=1
[ -f local/path.sh ] && . local/path.sh
true
