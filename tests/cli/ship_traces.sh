#!/usr/bin/env bash
# The import pipeline end to end on real captures: scripts/ship-traces
# re-imports every shipped trace from its raw capture in traces/raw/
# (ftrace logs; QEMU trace logs merged with the guest's ftrace) with
# `iosim-trace import ftrace|qemu -o FILE`, and each must equal the trace
# committed in traces/, record by record and in its metadata (compared as
# `iosim-trace to-text`, so a different libzstd cannot fail it).  This is
# also the only test of an import that writes a trace file (the unit
# tests import into a callback sink).
. "${SRC:?}/tests/cli/lib/common.sh"
mkdir -p "$WORK/out"
OUT="$WORK/out" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/ship-traces" \
    > "$WORK/ship.log" 2>&1 || { fail "ship-traces: $(tail -3 "$WORK/ship.log")"; exit 1; }
n=0
for shipped in "$SRC"/traces/*.zst; do
    name=$(basename "$shipped")
    made="$WORK/out/$name"
    [ -f "$made" ] || { fail "$name: ship-traces did not make it"; continue; }
    "$IOSIM_TRACE" to-text "$shipped" > "$WORK/a.txt" &&
        "$IOSIM_TRACE" to-text "$made" > "$WORK/b.txt" ||
        { fail "$name: to-text failed"; continue; }
    if cmp -s "$WORK/a.txt" "$WORK/b.txt"; then
        n=$((n + 1))
    else
        fail "$name: re-import differs from the shipped trace: $(diff "$WORK/a.txt" "$WORK/b.txt" | head -3)"
    fi
done
[ "$n" -ge 19 ] || fail "only $n traces compared equal (19 shipped)"
echo "re-imported $n shipped traces from their raw captures: identical"
finish
