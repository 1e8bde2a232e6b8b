#!/usr/bin/env bash
# The golden-report checker (tests/golden/golden.py) on a copy of one
# compare run's report: unchanged it passes; a counter changed by one fails
# naming the report and the counter (golden -> now); a decimal off by one
# unit of its last printed digit passes, by three fails; a path newly listed
# as provenance is ignored on both sides; bless puts the counter back and
# prints old -> new; a missing report fails.
. "${SRC:?}/tests/cli/lib/common.sh"
mkdir -p "$WORK/golden/reports/compare"
G=$WORK/golden
cp "$SRC/tests/golden/golden.py" "$SRC/tests/golden/exclude.txt" "$G/"
grep '^compare devices ' "$SRC/tests/golden/runs.txt" > "$G/runs.txt"
R=$G/reports/compare/devices.txt
cp "$SRC/tests/golden/reports/compare/devices.txt" "$R"
check() { python3 "$G/golden.py" check --iosim "$IOSIM" --src "$SRC" --group compare > "$WORK/out" 2>&1; }

check || fail "unchanged copy: $(cat "$WORK/out")"
key='sims/strict dev.model=touch/stat/iotlb.misses'
old=$(awk -F'\t' -v k="$key" '$1==k {print $2}' "$R")
[ -n "$old" ] || fail "no $key in the report"
awk -F'\t' -v OFS='\t' -v k="$key" '$1==k {$2=$2+1} {print}' "$R" > "$R.new" && mv "$R.new" "$R"
if check; then fail "a changed counter passed"; fi
grep -qF "golden: compare/devices (iosim --config configs/qemu-virtio.yaml" "$WORK/out" || fail "report not named: $(head -3 "$WORK/out")"
grep -qxF "  $key: $((old + 1)) -> $old" "$WORK/out" || fail "counter not shown golden -> now: $(head -3 "$WORK/out")"

python3 "$G/golden.py" bless --iosim "$IOSIM" --src "$SRC" --group compare > "$WORK/bless" 2>&1 || fail "bless failed"
grep -qxF "  $key: $((old + 1)) -> $old" "$WORK/bless" || fail "bless did not print old -> new: $(cat "$WORK/bless")"
check || fail "after bless: $(cat "$WORK/out")"

# per_page.iotlb_misses is printed with 6 decimals
dkey='sims/strict dev.model=touch/derived/per_page.iotlb_misses'
dval=$(awk -F'\t' -v k="$dkey" '$1==k {print $2}' "$R")
shift_decimal() {  # value in the file += $1 units of the 6th decimal
    awk -F'\t' -v OFS='\t' -v k="$dkey" -v v="$dval" -v d="$1" \
        '$1==k {$2=sprintf("%.6f", v + d * 1e-6)} {print}' "$R" > "$R.new" && mv "$R.new" "$R"
}
shift_decimal 1
check || fail "a decimal off by one unit of its last digit failed: $(head -3 "$WORK/out")"
shift_decimal 3
if check; then fail "a decimal off by three units passed"; fi
grep -qF "  $dkey: " "$WORK/out" || fail "decimal not shown: $(head -3 "$WORK/out")"

# the changed decimal declared provenance: ignored on both sides
echo 'sims/*/derived/per_page.iotlb_misses' >> "$G/exclude.txt"
check || fail "an excluded path still compared: $(head -3 "$WORK/out")"

rm "$R"
if check; then fail "a missing report passed"; fi
grep -qF "compare/devices: no golden report" "$WORK/out" || fail "missing report not named: $(cat "$WORK/out")"
finish
