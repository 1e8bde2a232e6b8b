#!/usr/bin/env bash
# --sweep runs one configuration per value in the same pass over the trace:
# each column must equal a separate run with --set, sweeps combine with
# --compare as a cartesian product, and a bad value is one line + exit 2.
. "${SRC:?}/tests/cli/lib/common.sh"
T=$WORK/r.zst
"$IOSIM_TRACE" gen random --window 1M --size 4K --dir write --count 5000 --page-size 4K -o "$T" || fail gen
C=$SRC/configs/vtd.yaml
"$IOSIM" --config "$C" --sweep vtd.iotlb.ways=1,64 --compare strict,passthrough \
    --format csv --no-progress "$T" > "$WORK/sweep.csv" || fail "sweep run"
n=$(awk -F, '$1=="stat" && $3=="iotlb.misses"' "$WORK/sweep.csv" | wc -l)
[ "$n" -eq 4 ] || fail "2 policies x 2 values should give 4 columns, got $n"
for w in 1 64; do
    "$IOSIM" --config "$C" --set vtd.iotlb.ways=$w --format csv --no-progress "$T" > "$WORK/w$w.csv" || fail "single $w"
    diff <(awk -F, '$1=="stat" {print $3","$4}' "$WORK/w$w.csv") \
         <(awk -F, -v l="strict vtd.iotlb.ways=$w" '$1=="stat" && $2==l {print $3","$4}' "$WORK/sweep.csv") \
         > /dev/null || fail "sweep column ways=$w differs from its single run"
done
m1=$(awk -F, '$1=="stat" && $2=="strict vtd.iotlb.ways=1" && $3=="iotlb.misses" {print $4}' "$WORK/sweep.csv")
m64=$(awk -F, '$1=="stat" && $2=="strict vtd.iotlb.ways=64" && $3=="iotlb.misses" {print $4}' "$WORK/sweep.csv")
echo "iotlb misses: 8 entries $m1, 512 entries $m64"
# 1 MB window = 256 pages: 512 entries hold them all (256 cold misses at
# most), 8 entries thrash (most of 5000 accesses miss)
[ "$m64" -le 256 ] && [ "$m1" -gt 4000 ] || fail "iotlb size sweep has no effect"
"$IOSIM" --config "$C" --sweep vtd.iotlb.ways=4,x --no-progress "$T" > /dev/null 2> "$WORK/e.txt"
rc=$?
[ $rc -eq 2 ] || fail "bad sweep value: exit $rc, want 2"
[ "$(wc -l < "$WORK/e.txt")" -eq 1 ] || fail "bad sweep value: not one line"
grep -q "vtd.iotlb.ways" "$WORK/e.txt" || fail "bad sweep value: key not named"
# each configuration's full effective configuration: config rows of its
# label (CSV), one per parameter as the [config] block has them, with the
# values written out by hand from what the item, the @mode (none implies
# caching mode off, hv_none.c) and the sweep value set over the base
# (vtd.yaml: 8 ways; here os.policy lazy and caching mode on) -- also for
# "strict vtd.iotlb.ways=8", which differs from the base only in its policy
"$IOSIM" --config "$C" --set os.policy=lazy --set vtd.caching_mode=true \
    --compare strict,lazy@none --sweep vtd.iotlb.ways=4,8 --format csv \
    --no-progress "$T" 2> /dev/null > "$WORK/full.csv"
nbase=$(awk -F, '$1=="config" && $2==""' "$WORK/full.csv" | wc -l)
for l in "strict vtd.iotlb.ways=4" "strict vtd.iotlb.ways=8" \
         "lazy@none vtd.iotlb.ways=4" "lazy@none vtd.iotlb.ways=8"; do
    n=$(awk -F, -v l="$l" '$1=="config" && $2==l' "$WORK/full.csv" | wc -l)
    [ "$n" -eq "$nbase" ] && [ "$n" -gt 100 ] ||
        fail "$l: $n config rows, the [config] block has $nbase"
done
awk -F, '$1=="config" && $2!="" && ($3=="vtd.iotlb.ways" || $3=="os.policy" ||
         $3=="vtd.caching_mode" || $3=="hv.mode") {print $2","$3","$4}' \
    "$WORK/full.csv" > "$WORK/diff.csv"
cat > "$WORK/diff.want" <<'DIFF'
strict vtd.iotlb.ways=4,vtd.caching_mode,true
strict vtd.iotlb.ways=4,vtd.iotlb.ways,4
strict vtd.iotlb.ways=4,os.policy,strict
strict vtd.iotlb.ways=4,hv.mode,none
strict vtd.iotlb.ways=8,vtd.caching_mode,true
strict vtd.iotlb.ways=8,vtd.iotlb.ways,8
strict vtd.iotlb.ways=8,os.policy,strict
strict vtd.iotlb.ways=8,hv.mode,none
lazy@none vtd.iotlb.ways=4,vtd.caching_mode,false
lazy@none vtd.iotlb.ways=4,vtd.iotlb.ways,4
lazy@none vtd.iotlb.ways=4,os.policy,lazy
lazy@none vtd.iotlb.ways=4,hv.mode,none
lazy@none vtd.iotlb.ways=8,vtd.caching_mode,false
lazy@none vtd.iotlb.ways=8,vtd.iotlb.ways,8
lazy@none vtd.iotlb.ways=8,os.policy,lazy
lazy@none vtd.iotlb.ways=8,hv.mode,none
DIFF
diff "$WORK/diff.want" "$WORK/diff.csv" || fail "per-configuration config rows differ"

# every configuration must be what its label says: a sweep of what
# --compare sets, a key or value given twice, an empty or repeated
# --compare item, an empty --sweep value are refused (one line, exit 2)
# instead of a column labelled fands that ran strict, or two columns of
# one name
while IFS='|' read -r args want; do
    # shellcheck disable=SC2086
    "$IOSIM" --config "$C" $args --no-progress "$T" > "$WORK/o.txt" 2> "$WORK/e.txt"
    rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$WORK/e.txt")" -eq 1 ] && [ ! -s "$WORK/o.txt" ] &&
        grep -qF -e "$want" "$WORK/e.txt" || fail "$args: exit $rc, '$(cat "$WORK/e.txt")'"
done <<'CASES'
--compare strict,fands --sweep os.policy=strict,lazy|--sweep os.policy: --compare sets it per item
--compare strict --sweep hv.mode=none,emulated|--sweep hv.mode: --compare sets it per item
--sweep vtd.iotlb.ways=4,8 --sweep vtd.iotlb.ways=16|--sweep vtd.iotlb.ways: given twice
--sweep vtd.iotlb.ways=4,4|--sweep vtd.iotlb.ways: value '4' given twice
--compare strict,strict|--compare: 'strict' given twice
--compare strict,,lazy|--compare 'strict,,lazy': an empty item
--compare strict,|--compare 'strict,': an empty item
--sweep vtd.iotlb.ways=4,,8|--sweep vtd.iotlb.ways '4,,8': an empty value
--sweep vtd.iotlb.ways=4,8,|--sweep vtd.iotlb.ways '4,8,': an empty value
CASES
finish
