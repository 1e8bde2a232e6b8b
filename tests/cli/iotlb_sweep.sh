#!/usr/bin/env bash
# iotlb_sweep.sh — `iosim iotlb-sweep` computes every IOTLB (or PDE cache)
# geometry of a grid in one pass (stack-distance simulation); its counters
# must equal those of separate plain iosim runs of each geometry (an
# independent route: the ordinary model with --set vtd.iotlb.sets/ways or
# vtd.psc_pd.sets/ways), on shipped traces and on generated ones with hits
# (gen random over a small window) and with hits between invalidations
# (gen nic).  Also: --plain gives the
# same table; a non-LRU base falls back to separate sims and says why;
# bad input is one line, exit 2, no table.
. "${SRC:?}/tests/cli/lib/common.sh"

"$IOSIM_TRACE" gen random --window 256K --size 64 --direction read \
    --count 60000 --page-size 4K --seed 7 -o "$WORK/iotlb-rand.zst" \
    >/dev/null 2>&1 || fail "gen random"
"$IOSIM_TRACE" gen nic --packets 4000 --device-rings \
    -o "$WORK/iotlb-nic.zst" >/dev/null 2>&1 || fail "gen nic"

SETS="1 16"
WAYS="1 3 8"
check() { # TRACE CONFIG [--set ...]
    local trace=$1 cfg=$2
    shift 2
    local name
    name=$(basename "$trace" .zst)-$(basename "$cfg" .yaml)
    [ $# = 0 ] || name=$name-$(echo "$*" | tr -c 'a-z0-9\n' '_')
    if ! "$IOSIM" iotlb-sweep --config "$cfg" "$@" --sets 1,16 \
            --ways 1,3,8 "$trace" > "$WORK/$name.csv" \
            2> "$WORK/$name.err"; then
        fail "$name: iotlb-sweep failed: $(cat "$WORK/$name.err")"
        return
    fi
    grep -q "from one pass (exact)" "$WORK/$name.err" ||
        fail "$name: not one pass: $(cat "$WORK/$name.err")"
    : > "$WORK/$name.want"
    echo "sets,ways,entries,lookups,hits,misses,evictions,invalidated" \
        >> "$WORK/$name.want"
    for s in $SETS; do
        for w in $WAYS; do
            "$IOSIM" --config "$cfg" "$@" --set vtd.iotlb.sets="$s" \
                --set vtd.iotlb.ways="$w" --format csv --no-progress \
                "$trace" 2>/dev/null |
            awk -F, -v s="$s" -v w="$w" '
                $1 == "stat" { v[$3] = $4 }
                END { printf "%d,%d,%d,%s,%s,%s,%s,%s\n", s, w, s * w,
                      v["iotlb.lookups"], v["iotlb.hits"], v["iotlb.misses"],
                      v["iotlb.evictions"], v["iotlb.invalidated"] }' \
                >> "$WORK/$name.want"
        done
    done
    if ! cmp -s "$WORK/$name.want" "$WORK/$name.csv"; then
        fail "$name: one pass differs from separate runs:"
        diff "$WORK/$name.want" "$WORK/$name.csv" | head -5
    fi
    # the check must be able to fail: the separate runs saw traffic
    awk -F, 'NR > 1 && $4 > 0 { ok = 1 } END { exit !ok }' \
        "$WORK/$name.want" || fail "$name: no IOTLB lookups"
}

check "$SRC/traces/redis-strict.zst" "$SRC/configs/vtd.yaml"
check "$SRC/traces/nginx-lazy.zst" "$SRC/configs/vtd.yaml"
check "$SRC/traces/redis-lazy-qemu.zst" "$SRC/configs/qemu-guest.yaml"
check "$SRC/traces/memcached-strict-qemu.zst" "$SRC/configs/nested-guest.yaml"
check "$WORK/iotlb-rand.zst" "$SRC/configs/vtd.yaml"
check "$WORK/iotlb-nic.zst" "$SRC/configs/vtd.yaml"
check "$WORK/iotlb-nic.zst" "$SRC/configs/vtd.yaml" --set os.policy=lazy
check "$WORK/iotlb-nic.zst" "$SRC/configs/vtd.yaml" \
    --set vtd.psi_iotlb_scope=qemu-mask8
# --cache psc_pd: the PDE cache's misses against psc.l3_misses of separate
# runs with --set vtd.psc_pd.sets/ways (the IOTLB as configured)
check_psc() { # TRACE CONFIG
    local trace=$1 cfg=$2 name
    name=psc-$(basename "$trace" .zst)-$(basename "$cfg" .yaml)
    "$IOSIM" iotlb-sweep --cache psc_pd --config "$cfg" --sets 1,16 \
        --ways 1,3,8 "$trace" > "$WORK/$name.csv" 2> "$WORK/$name.err" ||
        fail "$name: $(cat "$WORK/$name.err")"
    grep -q "from one pass (exact)" "$WORK/$name.err" ||
        fail "$name: not one pass: $(cat "$WORK/$name.err")"
    for s in $SETS; do
        for w in $WAYS; do
            "$IOSIM" --config "$cfg" --set vtd.psc_pd.sets="$s" \
                --set vtd.psc_pd.ways="$w" --format csv --no-progress \
                "$trace" 2>/dev/null |
            awk -F, -v s="$s" -v w="$w" '$1 == "stat" && $3 == "psc.l3_misses" {
                printf "%d,%d,%s\n", s, w, $4 }'
        done
    done > "$WORK/$name.want"
    awk -F, 'NR > 1 { print $1 "," $2 "," $6 }' "$WORK/$name.csv" \
        > "$WORK/$name.got"
    cmp -s "$WORK/$name.want" "$WORK/$name.got" ||
        fail "$name: PDE misses differ from separate runs"
    awk -F, '$3 > 0 { ok = 1 } END { exit !ok }' "$WORK/$name.want" ||
        fail "$name: no PDE misses"
    # lookups = hits + misses, and some geometry hit
    awk -F, 'NR > 1 && $4 != $5 + $6 { bad = 1 } NR > 1 && $5 > 0 { hit = 1 }
             END { exit bad || !hit }' "$WORK/$name.csv" ||
        fail "$name: lookups != hits + misses, or no hits"
}
check_psc "$SRC/traces/redis-strict.zst" "$SRC/configs/vtd.yaml"
check_psc "$SRC/traces/nginx-lazy.zst" "$SRC/configs/qemu-guest.yaml"
check_psc "$WORK/iotlb-nic.zst" "$SRC/configs/nested-guest.yaml"
# separate sims of the PDE cache: misses only, the other fields empty
"$IOSIM" iotlb-sweep --cache psc_pd --plain --config "$SRC/configs/vtd.yaml" \
    --sets 1 --ways 1 "$WORK/iotlb-nic.zst" 2>/dev/null | sed -n 2p |
    grep -Eq '^1,1,1,,,[0-9]+,,$' || fail "psc_pd --plain: not misses only"

# hits happened somewhere, so the hit depths were exercised
awk -F, 'NR > 1 && $5 > 0 { ok = 1 } END { exit !ok }' \
    "$WORK/iotlb-rand-vtd.csv" || fail "random trace: no hits in any row"
awk -F, 'NR > 1 && $8 > 0 && $5 > 0 { ok = 1 } END { exit !ok }' \
    "$WORK/iotlb-nic-vtd.csv" || fail "nic trace: no hits with invalidations"

# --plain: the same table from separate sims
"$IOSIM" iotlb-sweep --config "$SRC/configs/vtd.yaml" --plain --sets 1,16 \
    --ways 1,3,8 "$WORK/iotlb-nic.zst" > "$WORK/plain.csv" 2> "$WORK/plain.err"
cmp -s "$WORK/plain.csv" "$WORK/iotlb-nic-vtd.csv" || fail "--plain differs"
grep -q "as separate sims: plain runs asked for" "$WORK/plain.err" ||
    fail "--plain: $(cat "$WORK/plain.err")"

# a FIFO base: no inclusion property, so separate sims, and it says why
"$IOSIM" iotlb-sweep --config "$SRC/configs/vtd.yaml" \
    --set vtd.iotlb.replacement=fifo --sets 1,4 --ways 2 \
    "$WORK/iotlb-rand.zst" > "$WORK/fifo.csv" 2> "$WORK/fifo.err"
grep -q "separate sims: replacement is not lru" "$WORK/fifo.err" ||
    fail "fifo: $(cat "$WORK/fifo.err")"
[ "$(wc -l < "$WORK/fifo.csv")" = 3 ] || fail "fifo: not 2 rows"

# bad input: one line, exit 2, nothing on stdout
for args in "--sets 3 --ways 1" "--sets 1 --ways 0" "--sets 1-2,2 --ways 1" \
            "--sets 1 --ways 1 --set vtd.iotlb.nope=1" "--ways 1" \
            "--sets 1 --ways 1 --cache psc_pml4"; do
    # shellcheck disable=SC2086
    "$IOSIM" iotlb-sweep $args "$WORK/iotlb-rand.zst" > "$WORK/bad.out" \
        2> "$WORK/bad.err"
    rc=$?
    [ "$rc" = 2 ] || fail "'$args': exit $rc, not 2"
    [ "$(wc -l < "$WORK/bad.err")" = 1 ] || fail "'$args': not one line"
    [ -s "$WORK/bad.out" ] && fail "'$args': wrote a table"
done
finish
