#!/usr/bin/env bash
# Stop the cluster .ci/slurm-up.sh started in DIR: cancel its jobs and wait for them to end, stop
# slurmd, slurmctld and munged (by their pid files, together), remove DIR.
set -u
dir=$1
export SLURM_CONF="$dir/slurm.conf"
if [ -f "$SLURM_CONF" ]; then
  scancel --full --quiet --partition=debug 2>/dev/null
  for _ in $(seq 40); do
    [ -z "$(squeue -h -t all -o %i -t PENDING,RUNNING,COMPLETING,CONFIGURING,SUSPENDED 2>/dev/null)" ] && break
    sleep 0.25
  done
fi
pids=()
for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
  if [ -s "$pidfile" ]; then
    pids+=("$(cat "$pidfile")")
  fi
done
# all three at once, then wait for each (one after the other cost a few seconds each)
[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
for pid in "${pids[@]}"; do
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
case "$dir" in /tmp/dynaplan-slurm-ci.*) rm -rf "$dir" ;; esac
