#!/usr/bin/env bash
# Create .venv and install tts_codec with pinned dependencies. Idempotent: a second run only checks a stamp.
#   tools/install.sh [--no-eval]        (env: VENV=.venv PYTHON=python3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
python=${PYTHON:-python3}
extras="eval,test,web"
[ "${1:-}" = "--no-eval" ] && extras="test,web"

stamp="$venv/.tts_codec_installed"
want=$(cat "$root/setup.py" "$root/tools/constraints.txt" | sha256sum | cut -d' ' -f1)-$extras
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "[install] creating/updating $venv (extras: $extras)" >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
log="$venv/install.log"
: > "$log"
# pip's own output goes to the log; on failure its tail is shown.
quiet() { "$@" >> "$log" 2>&1 || { echo "[install] failed: $* (last lines of $log):" >&2; tail -25 "$log" >&2; exit 1; }; }
quiet "${pip[@]}" install -U "pip>=24"
# torch first and pinned: on a GPU machine, install the CUDA build of torch==2.13.0 into the venv before
# running this script; the pin is then already satisfied and nothing replaces it.
quiet "${pip[@]}" install "torch==2.13.0" -c "$root/tools/constraints.txt"
quiet "${pip[@]}" install -c "$root/tools/constraints.txt" -e "$root[$extras]"
"$venv/bin/python" - <<'PY'
import torch, lightning, transformers, kaldiio, soundfile  # noqa: F401  fail fast if the venv is broken
assert torch.__version__.startswith("2.13.0"), torch.__version__
PY
echo "$want" > "$stamp"
echo "[install] done: $venv" >&2
