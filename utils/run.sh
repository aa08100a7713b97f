#!/usr/bin/env bash
# Local job runner with Kaldi's run.pl interface (see tts_codec/jobs/__init__.py):
#   utils/run.sh [--max-jobs-run N] [--mem 4G] [--gpu 1] [--num-threads 2] [--time 1:00:00] \
#       [JOB=1:N] logdir/name.JOB.log command args...
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.run_jobs --backend local "$@"
