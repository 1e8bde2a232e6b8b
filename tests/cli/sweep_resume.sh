#!/usr/bin/env bash
# A sweep killed with SIGKILL midway and started again runs only the
# shards that are missing (those written before the kill keep their inode:
# not rewritten) and ends with exactly the table of a clean run; the
# kill leaves no half shard behind that the restart would take.
. "${SRC:?}/tests/cli/lib/common.sh"
cd "$WORK" || exit 1
cat > exp.yaml <<YAML
traces: [$SRC/traces/redis-strict.zst, $SRC/traces/redis-lazy.zst]
config: $SRC/configs/vtd.yaml
variants: [strict, lazy]
grid:
  - product:
      vtd.iotlb.ways: [1, 2, 4, 8, 16, 32]
metrics: ["iotlb.*", throughput_rps, cpu_ns]
shard_size: 1
YAML
# 2 traces x 2 variants x 6 ways = 24 shards of one configuration
"$IOSIM" sweep exp.yaml --shards clean.shards -o clean.csv --no-progress 2> e.txt ||
    fail "clean run: $(cat e.txt)"
[ "$(wc -l < clean.csv)" -eq 25 ] || fail "clean run: want 24 rows"

"$IOSIM" sweep exp.yaml --shards k.shards -o k.csv --no-progress 2> /dev/null &
pid=$!
# kill it once some shards are written, before all are
for _ in $(seq 1 600); do
    n=$(ls k.shards 2> /dev/null | grep -c '\.tsv$')
    [ "$n" -ge 3 ] && break
    sleep 0.05
done
kill -9 $pid 2> /dev/null
wait $pid 2> /dev/null
before=$(ls k.shards | grep -c '\.tsv$')
echo "killed with $before of 24 shards written"
[ "$before" -ge 3 ] && [ "$before" -lt 24 ] ||
    fail "the kill came at $before of 24 shards (want midway)"
[ ! -e k.csv ] || fail "a killed run left a table"
stat -c '%n %i' k.shards/*.tsv > inodes.before
"$IOSIM" sweep exp.yaml --shards k.shards --status > status.txt
grep -q "$before done, $((24 - before)) missing" status.txt ||
    fail "status after the kill: $(cat status.txt)"

"$IOSIM" sweep exp.yaml --shards k.shards -o k.csv --no-progress 2> e.txt ||
    fail "restart: $(cat e.txt)"
cmp -s clean.csv k.csv || fail "the resumed table differs from a clean run's"
# the shards of the first run were not run again (same files)
while read -r f i; do
    [ "$(stat -c %i "$f")" = "$i" ] || fail "$f was written again"
done < inodes.before
[ "$(ls k.shards | grep -c '\.tsv$')" -eq 24 ] || fail "not 24 shards after the restart"
[ -z "$(ls k.shards | grep -v '\.tsv$')" ] || fail "temporaries left: $(ls k.shards | grep -v '\.tsv$')"

# a shard cut short (as a copy by hand could leave it) is refused by the
# merge with its name, not merged
f=$(ls k.shards/*.tsv | head -n 1)
head -n 1 "$f" > cut.tsv && mv cut.tsv "$f"
"$IOSIM" sweep exp.yaml --shards k.shards --merge -o m.csv 2> e.txt
rc=$?
[ $rc -eq 2 ] && grep -q "$(basename "$f"): line 2: not a row" e.txt ||
    fail "a cut shard: exit $rc, $(cat e.txt)"
[ ! -e m.csv ] || fail "a failed merge left a table"
finish
