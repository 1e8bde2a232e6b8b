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
#   - bad input: one line, exit 2, no log file and no temporary left.
set -u
fail=0
err() { echo "FAIL: $*"; fail=1; }
rm -rf "$WORK"; mkdir -p "$WORK"

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
    --set sim.dma_model=none --set vtd.ats=false --set sim.window_only=false \
    --set vtd.root_mode=legacy --set vtd.translation=second-stage \
    --set vtd.ss_levels=4 --no-progress \
    --xlate-log "$WORK/hand.csv" "$WORK/t.txt" > /dev/null || err "hand run: exit $?"
cut -d, -f1,2,3,7,8 "$WORK/hand.csv" > "$WORK/hand.cols"
cat > "$WORK/hand.want" <<'W'
label,record,t_ns,iova,result
strict,2,110,0x10000,walk
strict,3,120,0x10000,iotlb
strict,4,130,0x10000,iotlb
strict,4,130,0x11000,walk
strict,6,150,0x10000,fault
W
diff "$WORK/hand.want" "$WORK/hand.cols" > "$WORK/hand.diff" ||
    { err "hand-written trace: rows differ"; cat "$WORK/hand.diff"; }
reads=$(awk -F, 'NR>1 {printf "%s ", $9}' "$WORK/hand.csv")
echo "hand-written trace: mem_reads per row: $reads"
[ "$reads" = "6 0 0 1 4 " ] || err "mem_reads per row '$reads', want '6 0 0 1 4 '"

# a real trace, two configurations
T=$SRC/traces/nginx-strict-qemu.zst
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set sim.window_only=false \
    --compare trace,strict --format csv --no-progress \
    --xlate-log "$WORK/a.csv" "$T" > "$WORK/a.rep" || err "real run: exit $?"
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set sim.window_only=false \
    --compare trace,strict --threads 2 --no-progress \
    --xlate-log "$WORK/b.csv" "$T" > /dev/null || err "2-thread run: exit $?"
cmp -s "$WORK/a.csv" "$WORK/b.csv" || err "the log changes with --threads"
st() { awk -F, -v l="$1" -v n="$2" '$1=="stat" && $2==l && $3==n {print $4}' "$WORK/a.rep"; }
for s in trace strict; do
    set -- $(awk -F, -v s="$s" '$1==s {n++; if ($8=="iotlb") h++;
                                 if ($8=="walk" || $8=="fault") m++}
                                END {print n+0, h+0, m+0}' "$WORK/a.csv")
    echo "$s: $1 rows, $2 iotlb, $3 walk+fault; report $(st $s iotlb.lookups)" \
         "$(st $s iotlb.hits) $(st $s iotlb.misses)"
    [ "$1" = "$(st $s iotlb.lookups)" ] && [ "$1" -gt 40000 ] || err "$s: rows"
    [ "$2" = "$(st $s iotlb.hits)" ] || err "$s: iotlb rows"
    [ "$3" = "$(st $s iotlb.misses)" ] || err "$s: walk + fault rows"
done

# bad input: one line, exit 2, nothing left behind
expect_bad() { # what args...
    local what=$1; shift
    "$IOSIM" --no-progress "$@" > "$WORK/out.txt" 2> "$WORK/err.txt"
    local rc=$?
    [ "$rc" = 2 ] || err "$what: exit $rc, want 2"
    [ "$(wc -l < "$WORK/err.txt")" = 1 ] || err "$what: not one line: $(cat "$WORK/err.txt")"
    echo "$what: $(cat "$WORK/err.txt")"
}
expect_bad "same file as -o" -o "$WORK/x.csv" --xlate-log "$WORK/x.csv" "$WORK/t.txt"
expect_bad "missing directory" --xlate-log "$WORK/no/such/dir/x.csv" "$WORK/t.txt"
printf '# iosim-trace text v1\nDMA t=1 dev=01:00.0 iova=0x1000 size=1 dir=write\nBOGUS\n' \
    > "$WORK/bad.txt"
expect_bad "bad trace" --xlate-log "$WORK/bad.csv" "$WORK/bad.txt"
[ ! -e "$WORK/bad.csv" ] || err "bad trace: a partial log was left"
ls "$WORK" | grep -q '\.tmp\.' && err "a temporary file was left"
exit $fail
