#!/usr/bin/env bash
# --xlate-log FILE: one CSV row per translated 4 KB page and configuration.
#   - a hand-written trace whose rows are written out here from the VT-d
#     model's definitions (bare metal, strict, no device-TLB): a first
#     access walks (a cold legacy-mode walk of a 4-level table: root +
#     context + 4 = 6 reads), the next hits the IOTLB; a 2-page access
#     makes two rows, the second page a walk of 1 read (the PDE cache
#     holds its leaf table); after the strict unmap (a PSI with IH=0,
#     os.pass_ih=false, which drops the paging-structure entries covering
#     the page) the access faults after 4 reads (context cached, every
#     level read again);
#   - on a real trace the rows agree with the report's counters (rows =
#     iotlb.lookups, iotlb rows = iotlb.hits, walk + fault rows =
#     iotlb.misses), per configuration, and do not change with --threads;
#   - against QEMU's own log, outcome by outcome (tests/cli/ground_truth.sh);
#   - bad input: one line, exit 2, no log file and no temporary left; an
#     output naming the trace or a directory is refused; a device is
#     written through (/dev/null), and when one output cannot be written
#     (/dev/full, a file-size limit) none is left; an interrupted run
#     (SIGTERM) exits 143 and removes its temporaries.
. "${SRC:?}/tests/cli/lib/common.sh"

cat > "$WORK/t.txt" <<'T'
# iosim-trace text v1
MAP t=100 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x2000 phys=0x900000 prot=rw
DMA t=110 dev=01:00.0 iova=0x10000 size=0x800 dir=write
DMA t=120 dev=01:00.0 iova=0x10100 size=0x100 dir=read
DMA t=130 dev=01:00.0 iova=0x10800 size=0x1000 dir=write
UNMAP t=140 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x1000
DMA t=150 dev=01:00.0 iova=0x10000 size=0x40 dir=write
T
"$IOSIM" --config "$SRC/configs/vtd.yaml" --set os.policy=strict \
    --set dev.model=none --set vtd.ats=false --set sim.window_only=false \
    --set vtd.root_mode=legacy --set vtd.translation=second-stage \
    --set vtd.ss_levels=4 --no-progress \
    --xlate-log "$WORK/hand.csv" "$WORK/t.txt" > /dev/null || fail "hand run: exit $?"
cut -d, -f1,2,3,7,8 "$WORK/hand.csv" > "$WORK/hand.cols"
cat > "$WORK/hand.want" <<'W'
label,record,t_ns,iova,result
strict,1,110,0x10000,walk
strict,2,120,0x10000,iotlb
strict,3,130,0x10000,iotlb
strict,3,130,0x11000,walk
strict,5,150,0x10000,fault
W
diff "$WORK/hand.want" "$WORK/hand.cols" > "$WORK/hand.diff" ||
    { fail "hand-written trace: rows differ"; cat "$WORK/hand.diff"; }
reads=$(awk -F, 'NR>1 {printf "%s ", $9}' "$WORK/hand.csv")
echo "hand-written trace: mem_reads per row: $reads"
[ "$reads" = "6 0 0 1 4 " ] || fail "mem_reads per row '$reads', want '6 0 0 1 4 '"

# the record column is the trace's numbering (from 0, FORMAT.md §4) even
# where records of one timestamp are reordered (system/reorder.h): the UNMAP of a not
# yet mapped IOVA (record 1) waits for the MAP after it (record 3); the DMA
# between them is record 2, not the 2nd record processed
cat > "$WORK/reorder.txt" <<'T'
# iosim-trace text v1
MAP t=100 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x1000 phys=0x900000 prot=rw
UNMAP t=200 cpu=1 dev=01:00.0 dom=6 iova=0x20000 size=0x1000
DMA t=200 dev=01:00.0 iova=0x10000 size=0x100 dir=write
MAP t=200 cpu=0 dev=01:00.0 dom=6 iova=0x20000 size=0x1000 phys=0xa00000 prot=rw
T
"$IOSIM" --set dev.model=none --set sim.window_only=false --no-progress \
    --xlate-log "$WORK/reorder.csv" "$WORK/reorder.txt" > /dev/null || fail "reorder run: exit $?"
[ "$(awk -F, 'NR>1 {print $2}' "$WORK/reorder.csv")" = 2 ] ||
    fail "reordered trace: record column '$(awk -F, 'NR>1 {print $2}' "$WORK/reorder.csv")', want 2"

# os.policy=trace with batches of 16: the INVAL before a DMA is submitted
# before that DMA is translated (the kernel traced it as it submitted it),
# so the second access walks again instead of hitting the IOTLB
cat > "$WORK/inval.txt" <<'T'
# iosim-trace text v1
MAP t=100 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x1000 phys=0x900000 prot=rw
DMA t=110 dev=01:00.0 iova=0x10000 size=0x100 dir=write
INVAL t=120 cpu=0 desc=iotlb gran=page dom=6 dev=00:00.0 addr=0x10000 am=0 ih=0
DMA t=120 dev=01:00.0 iova=0x10000 size=0x100 dir=write
T
"$IOSIM" --set os.policy=trace --set os.strict_batch=16 --set sim.window_only=false \
    --set vtd.ats=false --no-progress --xlate-log "$WORK/inval.csv" "$WORK/inval.txt" \
    > /dev/null || fail "inval run: exit $?"
got=$(awk -F, 'NR>1 {printf "%s ", $8}' "$WORK/inval.csv")
[ "$got" = "walk walk " ] || fail "INVAL then DMA (trace policy, batch 16): '$got', want 'walk walk '"

# a real trace, two configurations
T=$SRC/traces/nginx-strict-pcap-qemu.zst
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set sim.window_only=false \
    --compare trace,strict --format csv --no-progress \
    --xlate-log "$WORK/a.csv" "$T" > "$WORK/a.rep" || fail "real run: exit $?"
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set sim.window_only=false \
    --compare trace,strict --threads 2 --no-progress \
    --xlate-log "$WORK/b.csv" "$T" > /dev/null || fail "2-thread run: exit $?"
cmp -s "$WORK/a.csv" "$WORK/b.csv" || fail "the log changes with --threads"
st() { awk -F, -v l="$1" -v n="$2" '$1=="stat" && $2==l && $3==n {print $4}' "$WORK/a.rep"; }
for s in trace strict; do
    set -- $(awk -F, -v s="$s" '$1==s {n++; if ($8=="iotlb") h++;
                                 if ($8=="walk" || $8=="fault") m++}
                                END {print n+0, h+0, m+0}' "$WORK/a.csv")
    echo "$s: $1 rows, $2 iotlb, $3 walk+fault; report $(st $s iotlb.lookups)" \
         "$(st $s iotlb.hits) $(st $s iotlb.misses)"
    [ "$1" = "$(st $s iotlb.lookups)" ] && [ "$1" -gt 40000 ] || fail "$s: rows"
    [ "$2" = "$(st $s iotlb.hits)" ] || fail "$s: iotlb rows"
    [ "$3" = "$(st $s iotlb.misses)" ] || fail "$s: walk + fault rows"
done

# bad input: one line, exit 2, nothing left behind
expect_bad() { # what args...
    local what=$1; shift
    "$IOSIM" --no-progress "$@" > "$WORK/out.txt" 2> "$WORK/err.txt"
    local rc=$?
    [ "$rc" = 2 ] || fail "$what: exit $rc, want 2"
    [ "$(wc -l < "$WORK/err.txt")" = 1 ] || fail "$what: not one line: $(cat "$WORK/err.txt")"
    echo "$what: $(cat "$WORK/err.txt")"
}
expect_bad "same file as -o" -o "$WORK/x.csv" --xlate-log "$WORK/x.csv" "$WORK/t.txt"
expect_bad "missing directory" --xlate-log "$WORK/no/such/dir/x.csv" "$WORK/t.txt"
printf '# iosim-trace text v1\nDMA t=1 dev=01:00.0 iova=0x1000 size=1 dir=write\nBOGUS\n' \
    > "$WORK/bad.txt"
expect_bad "bad trace" --xlate-log "$WORK/bad.csv" "$WORK/bad.txt"
[ ! -e "$WORK/bad.csv" ] || fail "bad trace: a partial log was left"
# an output naming the input trace or a directory is refused up front
cp "$WORK/t.txt" "$WORK/same.txt"
expect_bad "output = the trace" --xlate-log "$WORK/same.txt" "$WORK/same.txt"
cmp -s "$WORK/t.txt" "$WORK/same.txt" || fail "output = the trace: the trace was overwritten"
expect_bad "-o = the trace" -o "$WORK/same.txt" "$WORK/same.txt"
mkdir -p "$WORK/dir"
expect_bad "a directory" --xlate-log "$WORK/dir" "$WORK/t.txt"
# a device is written through, not replaced: /dev/null works, /dev/full
# fails (exit 2, as every unwritable output in both programs)
# and then no other output is left either (all outputs are
# written and flushed before any is renamed into place)
"$IOSIM" --no-progress -o /dev/null --epoch 10ns --epoch-out "$WORK/ok.csv" \
    "$WORK/t.txt" || fail "-o /dev/null: exit $?"
[ -c /dev/null ] && [ -s "$WORK/ok.csv" ] || fail "-o /dev/null: /dev/null replaced or no epochs"
if [ -c /dev/full ]; then
    "$IOSIM" --no-progress -o "$WORK/rep.txt" --epoch 10ns --epoch-out "$WORK/ep.csv" \
        --xlate-log /dev/full "$WORK/t.txt" > /dev/null 2> "$WORK/err.txt"
    rc=$?
    [ "$rc" = 2 ] || fail "/dev/full: exit $rc, want 2"
    [ -c /dev/full ] || fail "/dev/full was replaced by a file"
    [ ! -e "$WORK/rep.txt" ] && [ ! -e "$WORK/ep.csv" ] ||
        fail "/dev/full: the other outputs were kept"
    echo "/dev/full: $(cat "$WORK/err.txt")"
fi
# past a file-size limit: exit 2, no output (the limit applies to every
# file the run writes: 2 MB lets the report and the epochs through, not
# the translation log of a real trace)
( ulimit -f 2000
  "$IOSIM" --no-progress -o "$WORK/rep.txt" --epoch 1ms --epoch-out "$WORK/ep.csv" \
      --xlate-log "$WORK/big.csv" "$T" > /dev/null 2> "$WORK/err.txt" )
rc=$?
[ "$rc" = 2 ] || fail "file-size limit: exit $rc, want 2"
[ ! -e "$WORK/rep.txt" ] && [ ! -e "$WORK/ep.csv" ] && [ ! -e "$WORK/big.csv" ] ||
    fail "file-size limit: an output was left"
echo "file-size limit: $(cat "$WORK/err.txt")"
# an interrupted run (SIGTERM once its outputs are open; a background job
# of this shell ignores SIGINT, and iosim keeps an ignored signal ignored)
# exits 143 and leaves no temporary and no output (a 2M-record trace with
# the log takes seconds; the signal goes as soon as the temporaries exist)
. "$SRC/tests/cli/lib/signal.sh"
rm -f "$WORK"/*.tmp.*
"$IOSIM_TRACE" gen random --window 64M --size 4K --dir write --count 2000000 \
    --page-size 4K -o "$WORK/long.zst" 2> /dev/null || fail "gen long trace"
"$IOSIM" --no-progress -o "$WORK/int.txt" --xlate-log "$WORK/int.csv" \
    "$WORK/long.zst" > /dev/null 2>&1 &
term_when_temp 'int\.csv\.tmp\.' $!; rc=$term_rc
echo "interrupted run: exit $rc"
[ "$rc" = 143 ] || fail "interrupted run: exit $rc, want 143"
[ ! -e "$WORK/int.txt" ] && [ ! -e "$WORK/int.csv" ] || fail "interrupted run: an output was left"
rm -f "$WORK/long.zst"
ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary file was left"
finish
