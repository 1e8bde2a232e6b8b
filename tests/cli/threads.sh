#!/usr/bin/env bash
# --threads N runs the sims of one replay on N worker threads: the report
# must be byte-identical to --threads 1 (text and json, --compare and
# --sweep), an error must be the same one line with exit 2 and no -o file,
# and a bad count is one line + exit 2.
. "${SRC:?}/tests/cli/lib/common.sh"
C=$SRC/configs/vtd.yaml
T=$SRC/traces/redis-strict.zst

# ---- same output whatever the thread count -----------------------------
run() { # NAME THREADS ARGS...: report in $WORK/NAME.tN
    local name=$1 n=$2; shift 2
    "$IOSIM" --config "$C" --no-progress --threads "$n" "$@" \
        > "$WORK/$name.t$n" 2> "$WORK/$name.t$n.err" ||
        fail "$name --threads $n: exit $?: $(head -n 1 "$WORK/$name.t$n.err")"
}
for n in 1 2 0 3; do
    run cmp_text "$n" --compare strict,lazy,passthrough,fands "$T"
    run cmp_json "$n" --compare strict,lazy,passthrough,fands --format json "$T"
    run sweep "$n" --sweep vtd.iotlb.ways=1,4,16 --compare strict,lazy --format json "$T"
done
for name in cmp_text cmp_json sweep; do
    for n in 2 0 3; do
        cmp -s "$WORK/$name.t1" "$WORK/$name.t$n" ||
            fail "$name: --threads $n differs from --threads 1"
    done
done
# the runs did real work: 4 (and 6) sims with distinct results
n=$(grep -c '"label"' "$WORK/cmp_json.t1")
[ "$n" -eq 4 ] || fail "cmp_json: $n sims, want 4"
n=$(grep -c '"label"' "$WORK/sweep.t1")
[ "$n" -eq 6 ] || fail "sweep: $n sims, want 6"
m=$(grep '^iotlb.misses' "$WORK/cmp_text.t2" | awk '{print $2}' | sort -u | wc -l)
[ "$m" -ge 2 ] || fail "cmp_text: every sim has the same iotlb.misses"
# ... and equal a separate single-sim run (the lazy column of the compare)
"$IOSIM" --config "$C" --no-progress --set os.policy=lazy --format csv "$T" \
    > "$WORK/lazy.csv" || fail "single lazy run"
"$IOSIM" --config "$C" --no-progress --threads 2 --compare strict,lazy,passthrough,fands \
    --format csv "$T" > "$WORK/cmp.csv" || fail "csv compare"
diff <(awk -F, '$1=="stat" {print $3","$4}' "$WORK/lazy.csv") \
     <(awk -F, '$1=="stat" && $2=="lazy" {print $3","$4}' "$WORK/cmp.csv") \
     > /dev/null || fail "lazy column of a 2-thread compare differs from a lazy run"

# ---- errors: same one line, exit 2, no output file ----------------------
fails_alike() { # NAME TRACE ARGS...: run with 1, 2 and 0 threads
    local name=$1 trace=$2; shift 2
    for n in 1 2 0; do
        rm -f "$WORK/$name.out"
        "$IOSIM" --config "$C" --no-progress --threads "$n" "$@" \
            -o "$WORK/$name.out" "$trace" > /dev/null 2> "$WORK/$name.e$n"
        rc=$?
        [ $rc -eq 2 ] || fail "$name --threads $n: exit $rc, want 2"
        [ "$(wc -l < "$WORK/$name.e$n")" -eq 1 ] ||
            fail "$name --threads $n: stderr is not one line"
        [ ! -e "$WORK/$name.out" ] || fail "$name --threads $n: left an -o file"
        ls "$WORK"/"$name".out.tmp.* > /dev/null 2>&1 &&
            fail "$name --threads $n: left a temp file"
    done
    cmp -s "$WORK/$name.e1" "$WORK/$name.e2" ||
        fail "$name: --threads 2 says '$(cat "$WORK/$name.e2")', --threads 1 '$(cat "$WORK/$name.e1")'"
    cmp -s "$WORK/$name.e1" "$WORK/$name.e0" || fail "$name: --threads 0 message differs"
}
# a decode error: the trace cut in the middle of its zstd stream
head -c 1500000 "$T" > "$WORK/cut.zst"
fails_alike cut "$WORK/cut.zst" --compare strict,lazy,passthrough,fands
grep -q "truncated" "$WORK/cut.e2" || fail "cut: message does not say truncated"
# a model error in one sim, many batches in: a MAP above 39 bits fails in
# every translating sim of the 3-level sweep value; the report names the
# first of them in --compare order, as one thread would
"$IOSIM_TRACE" to-text "$T" > "$WORK/all.txt" || fail "to-text"
{ head -n 30000 "$WORK/all.txt"
  echo "MAP t=9999999999999 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x100000000000 size=4096 phys=0x1000 prot=rw"
  sed -n '30001,40000p' "$WORK/all.txt"; } > "$WORK/wide.txt"
fails_alike wide "$WORK/wide.txt" --sweep vtd.ss_levels=4,3 --compare passthrough,lazy,strict,fands
# (the inserted MAP is line 30001 of the text trace)
grep -q "^iosim: $WORK/wide.txt:30001: lazy vtd.ss_levels=3: record [0-9]* (t=9999999999999): " "$WORK/wide.e2" ||
    fail "wide: want the lazy 3-level sim named, got '$(cat "$WORK/wide.e2")'"

# ---- bad counts ---------------------------------------------------------
for bad in -1 x 1.5 "" 99999; do
    "$IOSIM" --config "$C" --threads "$bad" "$T" > /dev/null 2> "$WORK/bad.e"
    rc=$?
    [ $rc -eq 2 ] || fail "--threads '$bad': exit $rc, want 2"
    [ "$(wc -l < "$WORK/bad.e")" -eq 1 ] || fail "--threads '$bad': not one line"
    grep -q "^iosim: --threads" "$WORK/bad.e" || fail "--threads '$bad': $(cat "$WORK/bad.e")"
done
"$IOSIM" --help | grep -q -- "--threads N" || fail "--help does not list --threads"
finish
