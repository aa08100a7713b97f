#!/usr/bin/env bash
# A throw-away one-node SLURM cluster for tests (recipes.md §9), kept entirely inside one directory:
# its own munged socket and key, slurm.conf, spool/state dirs, logs and free TCP ports, so nothing in /etc
# is touched and two test sessions on one machine do not collide. The scheduler runs on every event (no
# batching delays), so a throttled job array moves on within about half a second.
#   tools/slurm_test_cluster.sh start DIR   # needs root; prints `export SLURM_CONF=DIR/slurm.conf` when idle
#   tools/slurm_test_cluster.sh stop DIR    # kills the daemons started by `start DIR`, by their pids
# Clients (sbatch, squeue, utils/slurm.sh) find the cluster through SLURM_CONF.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

die() { echo "slurm_test_cluster.sh: $*" >&2; exit 1; }

stop_cluster() {  # SIGTERM the slurm daemons together, then munged; SIGKILL whatever outlives 10 s
  local group name pid pids
  for group in "slurmd slurmctld" munged; do
    pids=()
    for name in $group; do
      [ -f "$dir/$name.pid" ] || continue
      pid=$(cat "$dir/$name.pid")
      rm -f "$dir/$name.pid"
      [ -n "$pid" ] && kill "$pid" 2>/dev/null && pids+=("$pid")
    done
    for pid in "${pids[@]}"; do
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
  done
}

free_port() {
  "${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_file() {  # wait_for_file PATH WHAT
  for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  die "$2 did not start (see $dir/*.log)"
}

start_cluster() {
  [ "$(id -u)" = 0 ] || die "needs root (munged and slurmd run as root here)"
  local prog
  for prog in munged slurmctld slurmd sbatch squeue sinfo; do
    command -v "$prog" >/dev/null || die "$prog not installed: run tools/install_system.sh"
  done
  stop_cluster
  chmod 700 "$dir"
  mkdir -p "$dir/spool" "$dir/state"
  # munged refuses a key readable by others; the key is private to this cluster.
  if [ ! -f "$dir/munge.key" ]; then
    (umask 077; head -c 1024 /dev/urandom > "$dir/munge.key")
  fi
  munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" 2>>"$dir/munged.log"
  wait_for_file "$dir/munged.pid" munged

  local host cpus mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  cat > "$dir/slurm.conf" <<EOF
ClusterName=tts_codec_test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" -i 2>>"$dir/slurmctld.log"
  wait_for_file "$dir/slurmctld.pid" slurmctld
  slurmd -f "$SLURM_CONF" 2>>"$dir/slurmd.log"
  wait_for_file "$dir/slurmd.pid" slurmd
  for _ in $(seq 150); do
    if [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  die "node not idle after 30 s: $(sinfo -h 2>&1 | head -1) (see $dir/slurmctld.log, $dir/slurmd.log)"
}

case $action in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
