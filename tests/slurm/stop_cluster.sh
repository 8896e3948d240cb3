#!/usr/bin/env bash
# Stop the single-node test cluster started by tests/slurm/start_cluster.sh:
# cancel what is still queued, then stop slurmd, slurmctld and munged.
# Safe to run when nothing is running. State and logs stay in $MINERVA_SLURM_DIR.
set -uo pipefail

STATE_DIR="${MINERVA_SLURM_DIR:-/tmp/minerva-slurm}"

log() { echo "[stop_cluster] $*" >&2; }

# Send TERM to the process in a pid file and wait (up to 10 s) for it to exit.
stop_pidfile() {
    local name=$1 pidfile=$2 pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping $name ($pid)"
        kill -TERM "$pid"
        for _ in $(seq 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
}

if [[ -s $STATE_DIR/slurmctld.pid ]] && command -v scancel >/dev/null; then
    scancel --user="$(id -un)" 2>/dev/null || true
fi
stop_pidfile slurmd "$STATE_DIR/slurmd.pid"
stop_pidfile slurmctld "$STATE_DIR/slurmctld.pid"
if [[ -e $STATE_DIR/munged.started ]]; then
    stop_pidfile munged /run/munge/munged.pid
    rm -f "$STATE_DIR/munged.started"
fi
exit 0
