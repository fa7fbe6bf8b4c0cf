#!/usr/bin/env bash
# Stop the cluster .ci/slurm-up.sh started in DIR and remove DIR.
set -u
dir=$1
for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
done
sleep 1
case "$dir" in /tmp/dynaplan-slurm-ci.*) rm -rf "$dir" ;; esac
