#!/usr/bin/env bash
# --sweep runs one configuration per value in the same pass over the trace:
# each column must equal a separate run with --set, sweeps combine with
# --compare as a cartesian product, and a bad value is one line + exit 2.
set -u
fail=0
err() { echo "FAIL: $*"; fail=1; }
mkdir -p "$WORK"
T=$WORK/r.zst
"$IOSIM_TRACE" gen random --window 1M --size 4K --dir write --count 5000 --page-size 4K -o "$T" || err gen
C=$SRC/configs/vtd.yaml
"$IOSIM" --config "$C" --sweep vtd.iotlb.ways=1,64 --compare strict,passthrough \
    --format csv --no-progress "$T" > "$WORK/sweep.csv" || err "sweep run"
n=$(awk -F, '$1=="stat" && $3=="iotlb.misses"' "$WORK/sweep.csv" | wc -l)
[ "$n" -eq 4 ] || err "2 policies x 2 values should give 4 columns, got $n"
for w in 1 64; do
    "$IOSIM" --config "$C" --set vtd.iotlb.ways=$w --format csv --no-progress "$T" > "$WORK/w$w.csv" || err "single $w"
    diff <(awk -F, '$1=="stat" {print $3","$4}' "$WORK/w$w.csv") \
         <(awk -F, -v l="strict vtd.iotlb.ways=$w" '$1=="stat" && $2==l {print $3","$4}' "$WORK/sweep.csv") \
         > /dev/null || err "sweep column ways=$w differs from its single run"
done
m1=$(awk -F, '$1=="stat" && $2=="strict vtd.iotlb.ways=1" && $3=="iotlb.misses" {print $4}' "$WORK/sweep.csv")
m64=$(awk -F, '$1=="stat" && $2=="strict vtd.iotlb.ways=64" && $3=="iotlb.misses" {print $4}' "$WORK/sweep.csv")
echo "iotlb misses: 8 entries $m1, 512 entries $m64"
# 1 MB window = 256 pages: 512 entries hold them all (256 cold misses at
# most), 8 entries thrash (most of 5000 accesses miss)
[ "$m64" -le 256 ] && [ "$m1" -gt 4000 ] || err "iotlb size sweep has no effect"
"$IOSIM" --config "$C" --sweep vtd.iotlb.ways=4,x --no-progress "$T" > /dev/null 2> "$WORK/e.txt"
rc=$?
[ $rc -eq 2 ] || err "bad sweep value: exit $rc, want 2"
[ "$(wc -l < "$WORK/e.txt")" -eq 1 ] || err "bad sweep value: not one line"
grep -q "vtd.iotlb.ways" "$WORK/e.txt" || err "bad sweep value: key not named"
exit $fail
