#!/usr/bin/env bash
# --dump-accesses FILE: one CSV row per 4 KB page of every device access,
# who made it (the trace's DMA records or a device model, and the model's
# name for it) and the MAP whose buffer holds the page.
#   - a hand-written trace, rows written out here: a DMA into the second
#     page of a 2-page MAP names that MAP (record 0, its IOVA and size);
#     after the UNMAP and a new MAP (record 3) of the same IOVA, a DMA
#     names record 3; a DMA to a page never mapped names -1;
#   - on a real capture (nginx over QEMU's user networking) and on the same
#     capture without its DMA records replayed through dev.model=virtio-net:
#     rows = the report's iotlb.lookups, walk + fault rows = iotlb.misses
#     (a 4-entry LRU IOTLB, device-TLB off);
#   - the model's names against the ring layout computed here from the
#     virtio spec's split-ring formulas (Linux include/uapi/linux/
#     virtio_ring.h vring_init: desc 16 B each, avail flags/idx/ring[num]/
#     used_event, used aligned to 64 B: flags/idx/ring[num] of 8 B/
#     avail_event) at the rings' default IOVAs (rx 0xffffe000, tx
#     0xffffc000, 256 entries): every avail.idx, used.idx, used_event and
#     avail_event access is at its field's address, every desc access in
#     the descriptor table, every buf access at the start of a MAP of the
#     trace (rx: or of a buffer posted before the trace began, which may
#     hold a page the importer made explicit, sim/trace/import_qemu.c);
#   - scripts/access-diff reads both dumps: its totals are the rows and
#     the walk + fault rows;
#   - bad input: one line, exit 2, no file.
. "${SRC:?}/tests/cli/lib/common.sh"

cat > "$WORK/t.txt" <<'T'
# iosim-trace text v1
MAP t=100 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x2000 phys=0x900000 prot=rw
DMA t=110 dev=01:00.0 iova=0x11800 size=0x100 dir=read
UNMAP t=120 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x2000
MAP t=130 cpu=0 dev=01:00.0 dom=6 iova=0x10000 size=0x1000 phys=0xa00000 prot=rw
DMA t=140 dev=01:00.0 iova=0x10000 size=0x1800 dir=write
T
"$IOSIM" --set dev.model=none --set sim.window_only=false --set vtd.ats=false \
    --no-progress --dump-accesses "$WORK/hand.csv" "$WORK/t.txt" > /dev/null ||
    fail "hand run: exit $?"
cut -d, -f2-9,11- "$WORK/hand.csv" > "$WORK/hand.cols"
cat > "$WORK/hand.want" <<'W'
record,t_ns,origin,what,dir,iova,size,page,map,map_t_ns,map_iova,map_size
1,110,trace,,read,0x11800,256,0x11000,0,100,0x10000,8192
4,140,trace,,write,0x10000,6144,0x10000,3,130,0x10000,4096
4,140,trace,,write,0x10000,6144,0x11000,-1,,,
W
diff "$WORK/hand.want" "$WORK/hand.cols" > "$WORK/hand.diff" ||
    { fail "hand-written trace: rows differ"; cat "$WORK/hand.diff"; }

T=$SRC/traces/nginx-strict-pcap-qemu.zst
cfg=(--config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace --set sim.window_only=false
     --set vtd.iotlb.sets=1 --set vtd.iotlb.ways=4 --set vtd.iotlb.replacement=lru
     --set vtd.ats=false --no-progress --format csv)
"$IOSIM_TRACE" to-text "$T" | grep -v '^DMA ' |
    sed 's/^#meta has_dma=1$/#meta has_dma=0/' > "$WORK/nodma.txt"
"$IOSIM" "${cfg[@]}" --dump-accesses "$WORK/real.csv" "$T" > "$WORK/real.rep" ||
    fail "real run: exit $?"
"$IOSIM" "${cfg[@]}" --set dev.model=virtio-net --dump-accesses "$WORK/model.csv" \
    "$WORK/nodma.txt" > "$WORK/model.rep" || fail "model run: exit $?"
for d in real model; do
    set -- $(awk -F, 'NR > 1 { n++; if ($10 == "walk" || $10 == "fault") m++ }
                      END { print n + 0, m + 0 }' "$WORK/$d.csv")
    l=$(csv_value "$WORK/$d.rep" stat trace iotlb.lookups)
    m=$(csv_value "$WORK/$d.rep" stat trace iotlb.misses)
    echo "$d: $1 rows, $2 walk+fault; report lookups $l, misses $m"
    [ "$1" = "$l" ] && [ "$1" -gt 40000 ] || fail "$d: rows $1, lookups $l"
    [ "$2" = "$m" ] || fail "$d: walk + fault rows $2, misses $m"
done
awk -F, 'NR > 1 && $4 != "trace" { print "FAIL: real dump: origin " $4; exit 1 }' \
    "$WORK/real.csv" || fails=$((fails + 1))

# the model's names against the split-ring layout (vring_init)
bad=$(awk -F, '
    function layout(q, base,   n) {
        n = 256
        desc[q] = base; avail[q] = base + 16 * n
        used[q] = base + int((16 * n + 6 + 2 * n + 63) / 64) * 64
        end_desc[q] = base + 16 * n
    }
    function hex(s,   i, v, c) { v = 0; s = tolower(substr(s, 3))
        for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1
                                           v = v * 16 + c }
        return v }
    BEGIN { layout("rx", hex("0xffffe000")); layout("tx", hex("0xffffc000")) }
    NR == 1 { next }
    { split($5, w, "."); q = w[1]; f = substr($5, length(q) + 2); a = hex($7); n++
      ok = 1
      if (f == "avail.idx") ok = a == avail[q] + 2
      else if (f == "avail.ring") ok = a >= avail[q] + 4 && a < avail[q] + 4 + 512 && (a - avail[q]) % 2 == 0
      else if (f == "used_event") ok = a == avail[q] + 4 + 512
      else if (f == "used.idx") ok = a == used[q] + 2
      else if (f == "used.elem") ok = a >= used[q] + 4 && a < used[q] + 4 + 8 * 256 && (a - used[q] - 4) % 8 == 0
      else if (f == "avail_event") ok = a == used[q] + 4 + 8 * 256
      else if (f == "desc") ok = a >= desc[q] && a < end_desc[q] && (a - desc[q]) % 16 == 0
      else if (f == "buf") ok = a == hex($13) || (q == "rx" && ($11 == "-1" ||
                                  (hex($13) > a && hex($13) < a + $8)))
      else ok = 0
      if (!ok) { bad++; if (bad < 4) print "row " NR ": " $5 " at " $7 > "/dev/stderr" } }
    END { print bad + 0, n + 0 }' "$WORK/model.csv")
echo "model names against the ring layout: $bad (wrong, rows)"
[ "${bad%% *}" = 0 ] && [ "${bad##* }" -gt 40000 ] || fail "model names: $bad"

python3 "$SRC/scripts/access-diff" "$WORK/real.csv" "$WORK/model.csv" > "$WORK/diff.txt" ||
    fail "access-diff: exit $?"
sed -n '1,10p;$p' "$WORK/diff.txt"
want=$(awk -F, 'FNR > 1 { n[FILENAME]++; if ($10 == "walk" || $10 == "fault") m[FILENAME]++ }
    END { print n[ARGV[1]], n[ARGV[2]], m[ARGV[1]], m[ARGV[2]] }' "$WORK/real.csv" "$WORK/model.csv")
got=$(awk '$1 == "total" { print $2, $3, $4, $5 }' "$WORK/diff.txt")
[ "$got" = "$want" ] || fail "access-diff totals '$got', want '$want'"

# --ftrace by hand: tx A (mapped in softirq, the ftrace flags' third column
# 's') has an rx buffer written between its buffer and its push, tx B
# (mapped by a process) none
hdr="label,record,t_ns,what,page,result,map_t_ns,map_iova"
{ echo "$hdr"
  echo "a,1,1,,0xffffd000,iotlb,,"
  echo "a,2,2,,0xa000,walk,1000,0xa000"
  echo "a,3,3,,0xb000,walk,500,0xb000"
  echo "a,4,4,,0xffffd000,iotlb,,"
  echo "a,5,5,,0xc000,walk,2000,0xc000"
  echo "a,6,6,,0xffffd000,iotlb,,"; } > "$WORK/hand-real.csv"
{ echo "$hdr"
  echo "a,1,1,tx.avail.idx,0xffffd000,iotlb,,"
  echo "a,2,2,tx.buf,0xa000,walk,1000,0xa000"
  echo "a,3,3,rx.buf,0xb000,walk,500,0xb000"
  echo "a,5,5,tx.buf,0xc000,walk,2000,0xc000"; } > "$WORK/hand-model.csv"
{ echo "# tracer: nop"
  echo "           nginx-7       [001] b.s2.     0.000001: map: IOMMU: iova=0x000000000000a000 - 0x000000000000b000 paddr=0x0000000000001000 size=4096"
  echo "           nginx-7       [001] b..1.     0.000002: map: IOMMU: iova=0x000000000000c000 - 0x000000000000d000 paddr=0x0000000000002000 size=4096"
} > "$WORK/hand-ftrace.txt"
python3 "$SRC/scripts/access-diff" --ftrace "$WORK/hand-ftrace.txt" "$WORK/hand-real.csv" \
    "$WORK/hand-model.csv" > "$WORK/diff.txt" || fail "access-diff --ftrace: exit $?"
want="tx packets by the guest's context at their map (ftrace): softirq 1, answered inside"
want="$want their element 1; process 1, answered inside their element 0; unknown 0, answered"
want="$want inside their element 0"
[ "$(tail -1 "$WORK/diff.txt")" = "$want" ] ||
    fail "access-diff --ftrace by hand: $(tail -1 "$WORK/diff.txt")"
python3 "$SRC/scripts/access-diff" --ftrace "$WORK/hand-real.csv" "$WORK/hand-real.csv" \
    "$WORK/hand-model.csv" > "$WORK/out" 2> "$WORK/err"
[ $? = 2 ] && [ ! -s "$WORK/out" ] && [ "$(wc -l < "$WORK/err")" = 1 ] ||
    fail "access-diff --ftrace of no ftrace: $(cat "$WORK/err")"

# bad input
expect_bad_input "no/such/dir/x.csv" --dump-accesses "$WORK/no/such/dir/x.csv" "$WORK/t.txt"
expect_bad_input "name the same file" --dump-accesses "$WORK/x.csv" --xlate-log "$WORK/x.csv" \
    "$WORK/t.txt"
[ ! -e "$WORK/x.csv" ] || fail "a refused run left its dump"
python3 "$SRC/scripts/access-diff" "$WORK/t.txt" "$WORK/model.csv" > /dev/null 2> "$WORK/err"
[ $? = 2 ] && [ "$(wc -l < "$WORK/err")" = 1 ] || fail "access-diff on a trace: $(cat "$WORK/err")"
finish
