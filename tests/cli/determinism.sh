#!/usr/bin/env bash
# Determinism and format equivalence:
#  - the same inputs give byte-identical reports (every format);
#  - a trace and its text form give identical statistics: the report of the
#    binary trace equals the report of `to-text` of it;
#  - -o writes atomically: a run that fails leaves no output file;
#  - the resolved config is echoed in every format (an overridden key
#    shows its new value).
. "${SRC:?}/tests/cli/lib/common.sh"
T=$SRC/traces/memcached-strict.zst
C=$SRC/configs/qemu-guest.yaml
for fmt in text json csv; do
    "$IOSIM" --config "$C" --format $fmt --no-progress "$T" > "$WORK/a.$fmt" || fail "run 1 ($fmt)"
    "$IOSIM" --config "$C" --format $fmt --no-progress "$T" > "$WORK/b.$fmt" || fail "run 2 ($fmt)"
    cmp -s "$WORK/a.$fmt" "$WORK/b.$fmt" || fail "$fmt output differs between identical runs"
done
"$IOSIM_TRACE" to-text "$T" -o "$WORK/t.txt" || fail "to-text"
"$IOSIM" --config "$C" --format csv --no-progress "$WORK/t.txt" > "$WORK/t.csv" || fail "text run"
# statistics rows must match exactly (metadata rows may not: none differ here)
diff <(grep -E '^(stat|derived|summary),' "$WORK/a.csv") \
     <(grep -E '^(stat|derived|summary),' "$WORK/t.csv") > /dev/null || fail "text form gives other statistics"
grep -q '^stat,strict,trace.records,[1-9]' "$WORK/a.csv" || fail "no records counted"
# sim.window_only: counters cover BENCH_START..BENCH_END, both marks
# included; count that window in the text form independently
want=$(awk '/type=begin/{w=1} w && /^[A-Z]/{n++} /type=end/{w=0} END{print n+0}' "$WORK/t.txt")
got=$(awk -F, '$1=="stat" && $3=="trace.records" {print $4}' "$WORK/a.csv")
[ "$got" = "$want" ] || fail "trace.records $got, records in the window $want"
# --compare replays one stream for several sims: each column equals its own single run
"$IOSIM" --config "$C" --compare strict,lazy --format csv --no-progress "$T" > "$WORK/cmp.csv" || fail "compare"
"$IOSIM" --config "$C" --set os.policy=lazy --format csv --no-progress "$T" > "$WORK/lazy.csv" || fail "lazy run"
diff <(grep -E '^stat,lazy,' "$WORK/cmp.csv") <(grep -E '^stat,lazy,' "$WORK/lazy.csv") > /dev/null \
    || fail "a --compare column differs from its single run"
# the echo carries overrides
"$IOSIM" --config "$C" --set vtd.iotlb.ways=4 --format json --no-progress "$T" > "$WORK/o.json" || fail "override run"
grep -q '"ways": 4' "$WORK/o.json" || fail "override not echoed in JSON"
# atomic -o
rm -f "$WORK/out.txt"
"$IOSIM" --config "$C" -o "$WORK/out.txt" --no-progress "$SRC/tests/data/does-not-exist.zst" 2> "$WORK/e.txt"
rc=$?
[ $rc -eq 2 ] || fail "missing trace: exit $rc, want 2"
[ ! -e "$WORK/out.txt" ] || fail "failed run left an output file"
[ "$(wc -l < "$WORK/e.txt")" -eq 1 ] || fail "error is not one line"
grep -q 'does-not-exist.zst' "$WORK/e.txt" || fail "error does not name the file"
ls "$WORK" | grep -q 'tmp\.' && fail "temporary file left behind"
# the same options as a.text's run (the report's command line records
# them; -o and --no-progress are left out of it)
"$IOSIM" --config "$C" --format text -o "$WORK/out.txt" --no-progress "$T" || fail "-o run"
cmp -s "$WORK/out.txt" "$WORK/a.text" || fail "-o output differs from stdout output"
finish
