"""Job runners with Kaldi's run.pl/slurm.pl interface: `utils/run.sh` (local) and `utils/slurm.sh` (SLURM).

    utils/run.sh [--max-jobs-run N] [--mem 4G] [--gpu 1] [--num-threads 2] [--time 1:00:00] \\
        [JOB=1:N] logdir/name.JOB.log command args...

`tts_codec.bin.run_jobs` is the entry point; `spec` parses the shared command line and log format,
`local` and `slurm` are the backends, `slurm_conf` maps resource options through conf/slurm.conf.
"""
from tts_codec.jobs.spec import JobRange, JobRequest, parse_job_args, parse_job_range

__all__ = ["JobRange", "JobRequest", "parse_job_args", "parse_job_range"]
