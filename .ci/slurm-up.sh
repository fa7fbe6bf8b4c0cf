#!/usr/bin/env bash
# A single-node SLURM cluster on localhost for the tests: munge + slurmctld + slurmd, their
# config and state in a temporary directory. Prints the directory (export SLURM_CONF=DIR/slurm.conf);
# put DIR/bin first on PATH (sacct); stop it with .ci/slurm-down.sh DIR. Needs Debian's slurm-wlm and munge (and root, as in CI).
set -euo pipefail
dir=$(mktemp -d /tmp/dynaplan-slurm-ci.XXXXXX)
mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
# munge: a key of its own, its socket in the directory
dd if=/dev/urandom bs=1 count=1024 of="$dir/munge/munge.key" status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ctld_port=$(free_port)
slurmd_port=$(free_port)
# accounting (slurmdbd) needs a database: sacct, which submitit asks for job states, answers
# from the controller's memory of recent jobs instead (MinJobAge below), through squeue
mkdir -p "$dir/bin"
cat > "$dir/bin/sacct" <<'SH'
#!/bin/sh
echo "JobID|State|NodeList"
exec squeue --states=all -h -o "%i|%T|%N"
SH
chmod +x "$dir/bin/sacct"
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
ClusterName=dynaplan-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1,defer_batch
MessageTimeout=10
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=600
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -c -f "$SLURM_CONF"
slurmd -N localhost -f "$SLURM_CONF"
for _ in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then echo "$dir"; exit 0; fi
  sleep 0.5
done
echo "slurm did not come up; logs in $dir/log" >&2
exit 1
