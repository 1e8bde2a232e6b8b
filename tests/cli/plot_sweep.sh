#!/bin/bash
# plot_sweep.sh — scripts/plot_sweep.py on both tables iosim writes: the
# long report of `iosim --sweep ... --compare ... --format csv` and the
# wide table of `iosim sweep FILE.yaml`.  The points it plots (--dump) are
# checked against the same numbers picked out of the CSV with awk; the
# lines and panels are the ones asked for; a PNG is written; a 200-row
# table plots; a missing column is one line, exit 2.
# Env: IOSIM, IOSIM_TRACE, SRC, WORK (see tests/CMakeLists.txt).
. "${SRC:?}/tests/cli/lib/common.sh"
PY=/usr/bin/python3
PLOT="$SRC/scripts/plot_sweep.py"
"$PY" -c 'import matplotlib' 2> /dev/null || { echo "no python3-matplotlib: skipped"; exit 0; }
"$IOSIM_TRACE" gen random --window 1M --size 4K --count 20000 -o "$WORK/r1.zst" || fail "gen r1"
"$IOSIM_TRACE" gen random --window 4M --size 4K --count 20000 -o "$WORK/r4.zst" || fail "gen r4"

# --- today's long report ------------------------------------------------------
"$IOSIM" --no-progress --config "$SRC/configs/vtd.yaml" --compare strict,lazy \
    --sweep vtd.iotlb.ways=1,2,4,8 --sweep vtd.iotlb.sets=4,16 --format csv \
    "$WORK/r1.zst" > "$WORK/long.csv" || fail "long run: exit $?"
"$PY" "$PLOT" "$WORK/long.csv" --x vtd.iotlb.ways --y iotlb.misses \
    --lines vtd.iotlb.sets --facet variant --dump -o "$WORK/long.png" > "$WORK/long.dump" ||
    fail "plot long: exit $?"
[ -s "$WORK/long.png" ] || fail "plot long: no PNG"
# awk: from the labels "ITEM vtd.iotlb.ways=W vtd.iotlb.sets=S"
awk -F, '$1 == "stat" && $3 == "iotlb.misses" {
    split($2, t, " "); w = t[2]; s = t[3]; sub(/.*=/, "", w); sub(/.*=/, "", s)
    print t[1] "," s "," w "," $4 }' "$WORK/long.csv" | sort > "$WORK/long.want"
tail -n +2 "$WORK/long.dump" | sort > "$WORK/long.got"
cmp -s "$WORK/long.want" "$WORK/long.got" ||
    fail "long: plotted points differ from the CSV: $(diff "$WORK/long.want" "$WORK/long.got" | head -n 4)"
[ "$(wc -l < "$WORK/long.got")" -eq 16 ] || fail "long: $(wc -l < "$WORK/long.got") points, want 16"

# --- the sweep file's wide table, 200 configurations over two traces ------------
cat > "$WORK/sw.yaml" <<EOF
traces: [r1.zst, r4.zst]
config: $SRC/configs/vtd.yaml
variants: [strict, lazy]
grid:
  - product:
      vtd.iotlb.ways: [1, 2, 4, 8, 16]
      vtd.iotlb.sets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
metrics: ["iotlb.*"]
EOF
if "$IOSIM" sweep --help > /dev/null 2>&1; then
    "$IOSIM" sweep "$WORK/sw.yaml" -o "$WORK/wide.csv" 2> /dev/null || fail "sweep: exit $?"
    [ "$(tail -n +2 "$WORK/wide.csv" | wc -l)" -eq 200 ] || fail "sweep: not 200 rows"
    "$PY" "$PLOT" "$WORK/wide.csv" --x vtd.iotlb.sets --y iotlb.misses \
        --lines vtd.iotlb.ways --facet variant --logx --dump -o "$WORK/wide.png" \
        > "$WORK/wide.dump" || fail "plot wide: exit $?"
    [ -s "$WORK/wide.png" ] || fail "plot wide: no PNG"
    # every row a point; lines are (ways, trace) since two traces share a panel
    [ "$(tail -n +2 "$WORK/wide.dump" | wc -l)" -eq 200 ] || fail "wide: not 200 points"
    [ "$(tail -n +2 "$WORK/wide.dump" | cut -d, -f2 | sort -u | wc -l)" -eq 10 ] ||
        fail "wide: not 5 ways x 2 traces lines"
    # one point against awk on the header's columns
    want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["variant"] == "lazy" && $c["vtd.iotlb.ways"] == 4 && $c["vtd.iotlb.sets"] == 16 &&
        $c["trace"] ~ /r4.zst$/ { print $c["iotlb.misses"] }' "$WORK/wide.csv")
    got=$(awk -F, '$1 == "lazy" && $2 == "4 | r4.zst" && $3 == 16 { print $4 }' "$WORK/wide.dump")
    [ -n "$want" ] && [ "$got" = "$want" ] || fail "wide: lazy 4 ways 16 sets r4: $got, want $want"
fi

# --- bad input: one line, exit 2 -------------------------------------------------
"$PY" "$PLOT" "$WORK/long.csv" --x vtd.iotlb.way --y iotlb.misses -o "$WORK/bad.png" 2> "$WORK/err"
rc=$?
[ "$rc" -eq 2 ] || fail "missing column: exit $rc"
[ "$(wc -l < "$WORK/err")" -eq 1 ] && grep -q "no such column" "$WORK/err" || fail "missing column: '$(cat "$WORK/err")'"
[ ! -e "$WORK/bad.png" ] || fail "missing column: a PNG was written"

finish
