#!/usr/bin/env bash
# iosim sweep --slurm --submit against a real Slurm: a one-node cluster
# (Debian's slurmctld + slurmd, munge for authentication) configured and
# started in a scratch directory, on ports of its own; the sweep goes in
# as a job array (one task per shard) and a merge job that waits for it
# (afterok); the merged table must equal a local run's byte for byte.
# The daemons this test starts are stopped by their pid files.  Without
# the packages (scripts/deps installs them) it says SKIP and passes.
# IOSIM_SLURM_SWEEP=FILE runs that sweep file instead of the small one
# (opt-in, not in ctest: examples/sweep-1000.yaml is 560 array tasks).
. "${SRC:?}/tests/cli/lib/common.sh"
for b in slurmctld slurmd munged sbatch squeue sinfo; do
    command -v "$b" > /dev/null || [ -x "/usr/sbin/$b" ] || {
        echo "SKIP: $b not installed (Debian slurmctld slurmd slurm-client munge)"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (munged and slurmd run as root here)"; exit 0; }
PATH=$PATH:/usr/sbin
D=$WORK/cluster
mkdir -p "$D/munge" "$D/state" "$D/spool" "$D/log"
chmod 700 "$D/munge"
cleanup() {
    for p in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
        [ -s "$p" ] && kill "$(cat "$p")" 2> /dev/null
    done
    sleep 1
}
trap cleanup EXIT

# munge: a key of our own, its socket in the scratch directory
dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$D/munge/munge.key"
munged --key-file="$D/munge/munge.key" --socket="$D/munge/socket" \
    --pid-file="$D/munge/munged.pid" --log-file="$D/log/munged.log" \
    --seed-file="$D/munge/seed" --force 2> "$D/log/munged.err" ||
    { fail "munged: $(cat "$D/log/munged.err" "$D/log/munged.log" 2> /dev/null | tail -2)"; exit 1; }

host=$(hostname -s)
port=$((17000 + $$ % 2000))
export SLURM_CONF=$D/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=iosimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/socket
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF" -i 2> "$D/log/slurmctld.err" ||
    { fail "slurmctld: $(tail -3 "$D/log/slurmctld.err" "$D/log/slurmctld.log" 2> /dev/null)"; exit 1; }
slurmd -f "$SLURM_CONF" 2> "$D/log/slurmd.err" ||
    { fail "slurmd: $(tail -3 "$D/log/slurmd.err" "$D/log/slurmd.log" 2> /dev/null)"; exit 1; }
up=0
for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2> /dev/null | grep -qx 'idle'; then up=1; break; fi
    sleep 0.5
done
[ $up -eq 1 ] || { fail "the node did not come up: $(sinfo 2>&1 | tail -2; tail -3 "$D/log/slurmd.log")"; exit 1; }

mkdir -p "$WORK/exp"
cd "$WORK/exp" || exit 1
cat > exp.yaml <<YAML
traces: [$SRC/traces/redis-strict.zst, $SRC/traces/redis-lazy.zst]
config: $SRC/configs/vtd.yaml
variants: [strict, lazy, {name: cm, item: strict@emulated}]
grid:
  - product:
      vtd.iotlb.ways: [1, 4, 16]
metrics: ["iotlb.*", throughput_rps]
shard_size: 4
YAML
# 2 traces x 9 configurations in shards of 4: 6 array tasks
exp=exp.yaml shards=exp.shards tasks=6 polls=240
if [ -n "${IOSIM_SLURM_SWEEP:-}" ]; then
    exp=$IOSIM_SLURM_SWEEP shards=$WORK/exp/slurm.shards polls=7200
    tasks=$("$IOSIM" sweep "$exp" --shards "$shards" --status | sed -n 's/.* in \([0-9]*\) shards.*/\1/p')
fi
"$IOSIM" sweep "$exp" --shards local.shards --jobs 0 -o local.csv --no-progress 2> e.txt ||
    fail "local run: $(cat e.txt)"
"$IOSIM" sweep "$exp" --shards "$shards" --slurm jobs --submit -o slurm.csv > submit.txt 2> e.txt ||
    { fail "--slurm --submit: $(cat e.txt)"; exit 1; }
cat submit.txt
grep -q "array=0-$((tasks - 1))\$" jobs/array.sbatch || fail "array.sbatch: not $tasks tasks: $(grep array= jobs/array.sbatch)"
done=0
for _ in $(seq 1 $polls); do
    if [ -z "$(squeue -h 2> /dev/null)" ] && [ -e slurm.csv ]; then done=1; break; fi
    sleep 0.5
done
[ $done -eq 1 ] || fail "the jobs did not end in $((polls / 2)) s: $(squeue 2>&1 | tail -3; cat jobs/*.log 2> /dev/null | tail -3)"
[ "$(ls "$shards" | grep -c '\.tsv$')" -eq "$tasks" ] || fail "not $tasks shards from the array: $(ls "$shards" | head)"
cmp -s local.csv slurm.csv || fail "the merged table differs from the local run's: $(diff local.csv slurm.csv | head -3)"
# submitted again, every shard is done: the tasks only find them, the merge
# writes the same table
rm -f slurm.csv
"$IOSIM" sweep "$exp" --shards "$shards" --slurm jobs --submit -o slurm.csv > /dev/null 2> e.txt || fail "resubmit: $(cat e.txt)"
for _ in $(seq 1 $polls); do
    [ -z "$(squeue -h 2> /dev/null)" ] && [ -e slurm.csv ] && break
    sleep 0.5
done
cmp -s local.csv slurm.csv || fail "resubmitted: the table differs"
finish
