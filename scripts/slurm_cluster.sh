#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (loopback, as root), for tests of the slurm profile.
#
#   scripts/slurm_cluster.sh start DIR   # munge + slurmctld + slurmd; prints `export SLURM_CONF=...`
#   scripts/slurm_cluster.sh stop DIR    # stops exactly the processes `start` recorded in DIR
#
# Needs Debian's slurm-wlm and munge packages (apt-get install slurm-wlm munge). Everything it
# writes (keys, config, state, logs, pid files) stays in DIR, with one exception: Snakemake's
# slurm-jobstep plugin drops SLURM_CONF before its nested `srun`, which then reads the default
# /etc/slurm/slurm.conf. Where that file does not exist, `start` links it to DIR/slurm.conf and
# `stop` removes that link (and only that link) again.
set -euo pipefail

command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop() {
    for name in slurmd slurmctld munged; do
        pidfile="$dir/$name.pid"
        [ -s "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        fi
        rm -f "$pidfile"
    done
    if [ -s "$dir/etc-link" ] && [ -L "$(cat "$dir/etc-link")" ]; then
        rm -f "$(cat "$dir/etc-link")"
        rm -f "$dir/etc-link"
    fi
}

if [ "$command" = stop ]; then
    stop
    exit 0
fi
[ "$command" = start ] || { echo "unknown command $command (start or stop)" >&2; exit 2; }

for program in munged slurmctld slurmd sinfo; do
    command -v "$program" >/dev/null || { echo "$program not found: apt-get install slurm-wlm munge" >&2; exit 3; }
done
mkdir -p "$dir"/{state,spool,logs}
dir=$(cd "$dir" && pwd)
trap 'stop' ERR

# munge: a fresh key and a private socket, so a system munged (if any) is left alone.
dd if=/dev/urandom of="$dir/munge.key" bs=1 count=1024 status=none
chmod 400 "$dir/munge.key"
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/logs/munged.log" --seed-file="$dir/munge.seed"

# Ports above the defaults, chosen from the folder's name, so two clusters never collide.
offset=$(( $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 1000 ))
host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=tvseg-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(( 20000 + offset ))
SlurmdPort=$(( 21000 + offset ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/logs/slurmctld.log
SlurmdLogFile=$dir/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
if [ ! -e /etc/slurm/slurm.conf ]; then
    mkdir -p /etc/slurm
    ln -s "$SLURM_CONF" /etc/slurm/slurm.conf
    echo /etc/slurm/slurm.conf > "$dir/etc-link"
elif [ "$(readlink -f /etc/slurm/slurm.conf)" != "$SLURM_CONF" ]; then
    echo "note: /etc/slurm/slurm.conf exists; nested srun in Snakemake jobs will read it, not $SLURM_CONF" >&2
fi
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then
        echo "export SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 0.3
done
echo "the cluster did not come up; logs in $dir/logs" >&2
stop
exit 1
