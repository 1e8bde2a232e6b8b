#!/usr/bin/env bash
# scripts/plot_compare.py turns a --compare CSV report into a PNG, and
# scripts/plot_epochs.py an --epoch-out time series; bad input is one
# line and exit 2 with no output file.
. "${SRC:?}/tests/cli/lib/common.sh"
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { echo "python3-matplotlib missing (scripts/deps installs it)"; exit 1; }
"$IOSIM" --config "$SRC/configs/qemu-guest.yaml" --compare passthrough,lazy,strict \
    --format csv --no-progress "$SRC/traces/memcached-strict.zst" > "$WORK/c.csv" || fail "iosim"
rm -f "$WORK/c.png"
/usr/bin/python3 "$SRC/scripts/plot_compare.py" "$WORK/c.csv" -o "$WORK/c.png" || fail "plot failed"
[ "$(head -c 8 "$WORK/c.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "not a PNG"
[ "$(stat -c %s "$WORK/c.png")" -gt 10000 ] || fail "PNG suspiciously small"
# the plotted values (--dump) against the report's summary rows, picked
# out with awk: each cause's cycles (the *_cycles fields but iommu_cycles
# that are not 0 everywhere), the loss (100 x degradation) and the reads
# per 4 KB; and each stacked bar's top is the report's iommu_cycles
/usr/bin/python3 "$SRC/scripts/plot_compare.py" "$WORK/c.csv" -o "$WORK/c.png" --dump \
    > "$WORK/c.dump" || fail "plot --dump failed"
awk -F, '$1 == "summary" && $3 ~ /_cycles$/ && $3 != "iommu_cycles" {
        c = $3; sub(/_cycles$/, "", c); gsub(/_/, " ", c)
        v[$2 SUBSEP c] = $4; lab[$2]; if ($4 != 0) used[c] }
    $1 == "summary" && $3 == "degradation" { printf "loss,%s,loss %%,%.6g\n", $2, 100 * $4 }
    $1 == "summary" && $3 == "mem_reads_per_4k" { printf "loss,%s,reads per 4K,%.6g\n", $2, $4 }
    END { for (k in v) { split(k, p, SUBSEP)
              if (p[2] in used) printf "cycles,%s,%s,%.6g\n", p[1], p[2], v[k] } }' \
    "$WORK/c.csv" | sort > "$WORK/c.want"
awk -F, 'NR > 1 { printf "%s,%s,%s,%.6g\n", $1, $2, $3, $4 }' "$WORK/c.dump" | sort > "$WORK/c.got"
[ "$(grep -c '^cycles,' "$WORK/c.want")" -ge 6 ] || fail "plot --dump: too few causes to check"
cmp -s "$WORK/c.want" "$WORK/c.got" ||
    fail "plot --dump differs from the report: $(diff "$WORK/c.want" "$WORK/c.got" | head -n 4)"
bad=$(awk -F, 'FNR == NR { if ($1 == "cycles") top[$2] += $4; next }
    $1 == "summary" && $3 == "iommu_cycles" {
        d = top[$2] - $4; if (d < 0) d = -d
        if (d > 1e-6 * ($4 > 1 ? $4 : 1)) print $2 ": bars " top[$2] ", iommu_cycles " $4 }' \
    "$WORK/c.dump" "$WORK/c.csv")
[ -z "$bad" ] || fail "plot: a stacked bar is not iommu_cycles: $bad"
echo "not,a,report" > "$WORK/bad.csv"
rm -f "$WORK/bad.png"
/usr/bin/python3 "$SRC/scripts/plot_compare.py" "$WORK/bad.csv" -o "$WORK/bad.png" 2> "$WORK/e.txt"
rc=$?
[ $rc -eq 2 ] || fail "bad CSV: exit $rc"
[ "$(wc -l < "$WORK/e.txt")" -eq 1 ] && grep -q "bad.csv:1" "$WORK/e.txt" || fail "bad CSV: message"
[ ! -e "$WORK/bad.png" ] || fail "bad CSV left a PNG"

# ---- plot_epochs.py ---------------------------------------------------------
"$IOSIM" --config "$SRC/configs/vtd.yaml" --compare strict,lazy --no-progress \
    --epoch 200ms --epoch-out "$WORK/ep.csv" "$SRC/traces/redis-lazy.zst" \
    > /dev/null || fail "iosim --epoch"
rm -f "$WORK/ep.png"
/usr/bin/python3 "$SRC/scripts/plot_epochs.py" "$WORK/ep.csv" -o "$WORK/ep.png" \
    --metric iotlb.misses/dma.pages_4k --metric iq.submits || fail "plot_epochs failed"
[ "$(head -c 8 "$WORK/ep.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "plot_epochs: not a PNG"
[ "$(stat -c %s "$WORK/ep.png")" -gt 10000 ] || fail "plot_epochs: PNG suspiciously small"
# the plotted points (--dump) against the epoch CSV read with awk by its
# header: x = t_start_ns / 1e6, y = misses / pages_4k (nan where no page)
# and iq.submits, per configuration and epoch
/usr/bin/python3 "$SRC/scripts/plot_epochs.py" "$WORK/ep.csv" -o "$WORK/ep.png" \
    --metric iotlb.misses/dma.pages_4k --metric iq.submits --dump > "$WORK/ep.dump" ||
    fail "plot_epochs --dump failed"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { x = $c["t_start_ns"] / 1e6; p = $c["dma.pages_4k"]
      if (p == 0) r = "nan"; else r = sprintf("%.6g", $c["iotlb.misses"] / p)
      printf "iotlb.misses/dma.pages_4k,%s,%.6g,%s\n", $1, x, r
      printf "iq.submits,%s,%.6g,%.6g\n", $1, x, $c["iq.submits"] }' "$WORK/ep.csv" |
    sort > "$WORK/ep.want"
awk -F, 'NR > 1 { y = $4 == "nan" ? "nan" : sprintf("%.6g", $4)
                  printf "%s,%s,%.6g,%s\n", $1, $2, $3, y }' "$WORK/ep.dump" | sort > "$WORK/ep.got"
[ "$(wc -l < "$WORK/ep.want")" -gt 100 ] || fail "plot_epochs: $(wc -l < "$WORK/ep.want") points to check"
cmp -s "$WORK/ep.want" "$WORK/ep.got" ||
    fail "plot_epochs --dump differs from the CSV: $(diff "$WORK/ep.want" "$WORK/ep.got" | head -n 4)"
epoch_bad() { # NAME WANT ARGS...
    local name=$1 want=$2; shift 2
    rm -f "$WORK/$name.png"
    /usr/bin/python3 "$SRC/scripts/plot_epochs.py" "$@" -o "$WORK/$name.png" \
        2> "$WORK/$name.err"
    rc=$?
    [ $rc -eq 2 ] || fail "plot_epochs $name: exit $rc"
    [ "$(wc -l < "$WORK/$name.err")" -eq 1 ] && grep -q -- "$want" "$WORK/$name.err" ||
        fail "plot_epochs $name: message: $(cat "$WORK/$name.err")"
    [ ! -e "$WORK/$name.png" ] || fail "plot_epochs $name left a PNG"
}
epoch_bad report "bad.csv:1" "$WORK/bad.csv"
epoch_bad metric "no counter 'iotlb.mises'" "$WORK/ep.csv" --metric iotlb.mises
head -c 2000 "$WORK/ep.csv" > "$WORK/cut.csv"
epoch_bad cut "cut.csv:[0-9]*: expected [0-9]* columns" "$WORK/cut.csv"
finish
