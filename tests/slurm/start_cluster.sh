#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (slurmctld + slurmd on localhost)
# for testing the workflow's SLURM profile against a real scheduler.
#
# Meant for a disposable CI machine or container where we are root: it installs
# Debian's slurm-wlm and munge when missing and writes /etc/slurm/slurm.conf.
# It refuses to touch a slurm.conf it did not write. Idempotent: running it again
# while the cluster is up only waits for the node to be idle.
#
#   tests/slurm/start_cluster.sh            # start (install if needed)
#   tests/slurm/stop_cluster.sh             # stop the daemons again
#
# State, logs and the job-completion record live in $MINERVA_SLURM_DIR
# (default /tmp/minerva-slurm); the completion record is $MINERVA_SLURM_DIR/jobcomp.log.
# The node advertises one fake GPU (gres/gpu, no device file) so that jobs asking
# for a GPU are scheduled the way they would be on a GPU node; they run on the CPU.
set -euo pipefail

STATE_DIR="${MINERVA_SLURM_DIR:-/tmp/minerva-slurm}"
SLURM_ETC=/etc/slurm
MARKER="# Written by minerva-vertex tests/slurm/start_cluster.sh"
WAIT_SECONDS="${MINERVA_SLURM_WAIT:-60}"

log() { echo "[start_cluster] $*" >&2; }

need_root() {
    if [[ $(id -u) -ne 0 ]]; then
        log "must run as root (it installs packages and starts system daemons)"
        exit 1
    fi
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return
    fi
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating the munge key"
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown -R munge:munge /etc/munge
    chmod 700 /etc/munge
    chmod 400 /etc/munge/munge.key
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
    # Only a munged started here is stopped by stop_cluster.sh.
    mkdir -p "$STATE_DIR"
    touch "$STATE_DIR/munged.started"
    for _ in $(seq 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.5
    done
    log "munged does not answer"
    exit 1
}

# Print "key=value" of one field of `slurmd -C` (this host's real hardware).
hw() { slurmd -C | head -1 | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }

write_config() {
    local conf="$SLURM_ETC/slurm.conf"
    if [[ -e $conf ]] && ! grep -qF "$MARKER" "$conf"; then
        log "$conf exists and was not written by this script; refusing to replace it"
        exit 1
    fi
    mkdir -p "$SLURM_ETC" "$STATE_DIR/state" "$STATE_DIR/spool"
    local host cpus sockets cores threads memory
    host=$(hostname -s)
    cpus=$(hw CPUs)
    sockets=$(hw SocketsPerBoard)
    cores=$(hw CoresPerSocket)
    threads=$(hw ThreadsPerCore)
    memory=$(hw RealMemory)
    cat >"$conf" <<EOF
$MARKER
# A single-node test cluster: controller and compute node are this host.
ClusterName=minerva-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
# Containers have no usable cgroups: track processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# No slurmdbd: finished jobs are recorded in a text file, and squeue keeps them
# listed for MinJobAge seconds, long enough for the executor's status checks.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE_DIR/jobcomp.log
MinJobAge=600
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$memory Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$SLURM_ETC/gres.conf" <<EOF
$MARKER
# One GPU bound to /dev/null: scheduled like a GPU, the job runs on the CPU.
NodeName=$host Name=gpu File=/dev/null Count=1
EOF
}

daemon_running() {
    local pidfile="$STATE_DIR/$1.pid"
    [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start_daemons() {
    if ! daemon_running slurmctld; then
        log "starting slurmctld"
        /usr/sbin/slurmctld -c
    fi
    if ! daemon_running slurmd; then
        log "starting slurmd"
        /usr/sbin/slurmd
    fi
}

wait_for_idle_node() {
    local state=""
    for _ in $(seq "$WAIT_SECONDS"); do
        state=$(sinfo --noheader --Node --format=%t 2>/dev/null | head -1 || true)
        case "$state" in
            idle | mix | alloc)
                log "node is $state"
                return
                ;;
            drain* | down*)
                # A node left down by an earlier run returns to service here.
                scontrol update NodeName="$(hostname -s)" State=RESUME 2>/dev/null || true
                ;;
        esac
        sleep 1
    done
    log "node did not become idle (state '$state'); see $STATE_DIR/slurmctld.log and slurmd.log"
    exit 1
}

need_root
install_packages
start_munge
if daemon_running slurmctld && daemon_running slurmd; then
    log "cluster already running"
else
    write_config
    start_daemons
fi
wait_for_idle_node
sinfo
