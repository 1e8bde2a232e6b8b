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
