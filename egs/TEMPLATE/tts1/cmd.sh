# Job backends (Kaldi/ESPnet convention). Every stage runs its work through one of these commands:
#   ${train_cmd}  JOB=1:N logdir/name.JOB.log command ... JOB ...
# cmd_backend=local runs jobs on this machine (bounded by --max-jobs-run); cmd_backend=slurm submits them with
# sbatch, mapping --mem/--gpu/--num-threads/--time through conf/slurm.conf. Select with `export cmd_backend=slurm`.
cmd_backend=${cmd_backend:-local}
case "${cmd_backend}" in
  local)
    export train_cmd="utils/run.sh"
    export cuda_cmd="utils/run.sh"
    export decode_cmd="utils/run.sh"
    ;;
  slurm)
    export train_cmd="utils/slurm.sh --config conf/slurm.conf --mem 4G"
    export cuda_cmd="utils/slurm.sh --config conf/slurm.conf --mem 16G"   # training stages add --gpu ${ngpu}
    export decode_cmd="utils/slurm.sh --config conf/slurm.conf --mem 4G"
    ;;
  *) echo "cmd.sh: error: unknown cmd_backend '${cmd_backend}' (local or slurm)" >&2; return 2 2>/dev/null || exit 2 ;;
esac
