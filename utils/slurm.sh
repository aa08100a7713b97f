#!/usr/bin/env bash
# SLURM job runner with Kaldi's slurm.pl interface (see tts_codec/jobs/slurm.py); resource options are mapped
# through --config (default conf/slurm.conf, else built-in defaults). --srun true runs one job in the foreground.
#   utils/slurm.sh [--config conf/slurm.conf] [--max-jobs-run N] [--mem 4G] [--gpu 1] [--num-threads 2] \
#       [--time 1:00:00] [--srun true] [JOB=1:N] logdir/name.JOB.log command args...
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/find_python.sh"
exec "${PYTHON}" -m tts_codec.bin.run_jobs --backend slurm "$@"
