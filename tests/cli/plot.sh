#!/usr/bin/env bash
# scripts/plot_compare.py turns a --compare CSV report into a PNG; bad
# input is one line and exit 2 with no output file.
set -u
fail=0
err() { echo "FAIL: $*"; fail=1; }
mkdir -p "$WORK"
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { echo "python3-matplotlib missing (scripts/deps installs it)"; exit 1; }
"$IOSIM" --config "$SRC/configs/qemu-guest.yaml" --compare passthrough,lazy,strict \
    --format csv --no-progress "$SRC/traces/memcached-strict.zst" > "$WORK/c.csv" || err "iosim"
rm -f "$WORK/c.png"
/usr/bin/python3 "$SRC/scripts/plot_compare.py" "$WORK/c.csv" -o "$WORK/c.png" || err "plot failed"
[ "$(head -c 8 "$WORK/c.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || err "not a PNG"
[ "$(stat -c %s "$WORK/c.png")" -gt 10000 ] || err "PNG suspiciously small"
echo "not,a,report" > "$WORK/bad.csv"
rm -f "$WORK/bad.png"
/usr/bin/python3 "$SRC/scripts/plot_compare.py" "$WORK/bad.csv" -o "$WORK/bad.png" 2> "$WORK/e.txt"
rc=$?
[ $rc -eq 2 ] || err "bad CSV: exit $rc"
[ "$(wc -l < "$WORK/e.txt")" -eq 1 ] && grep -q "bad.csv:1" "$WORK/e.txt" || err "bad CSV: message"
[ ! -e "$WORK/bad.png" ] || err "bad CSV left a PNG"
exit $fail
