#!/usr/bin/env bash
# System packages the test suite uses beyond Python: Chromium (listening-page test), SLURM (job backend test)
# and the espeak-ng program (fallback synthesis engine test; the corpus itself uses the bundled library).
# Needs root and Debian's apt; without them it says what is missing and the tests that need it skip with that reason.
#   tools/install_system.sh [--required]
set -uo pipefail
required=false
[ "${1:-}" = "--required" ] && required=true
pkgs=(chromium chromium-driver slurmd slurmctld slurm-client munge espeak-ng)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[install_system] not root or no apt-get: missing ${missing[*]} (related tests will skip, naming it)" >&2
  $required && exit 1
  exit 0
fi
echo "[install_system] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "[install_system] apt-get failed for ${missing[*]}" >&2
  $required && exit 1
fi
exit 0
