#!/usr/bin/env bash
# iotlb_sweep.sh — `iosim iotlb-sweep` computes every IOTLB (or PDE cache)
# geometry of a grid in one pass (stack-distance simulation); its counters
# must equal those of separate plain iosim runs of each geometry (an
# independent route: the ordinary model with --set vtd.iotlb.sets/ways or
# vtd.psc_pd.sets/ways), on shipped traces and on generated ones with hits
# (gen random over a small window) and with hits between invalidations
# (gen nic).  The IOTLB x PDE-cache grid (--psc-sets/--psc-ways) against
# separate runs setting both geometries, and its fallback when walks in
# flight couple the two.  Also: --plain gives the same table; a non-LRU
# base falls back to separate sims and says why; bad input is one line,
# exit 2, no table.
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

# --psc-sets/--psc-ways: the IOTLB x PDE-cache grid (one sim per IOTLB
# geometry, a PDE shadow each) against separate runs setting both
# geometries: every IOTLB counter and the PDE cache's misses; and the
# PDE counts hang together (lookups = hits + misses, some hits, and the
# PDE misses differ between geometries, so the check could fail).
check_grid2() { # TRACE CONFIG [--set ...]
    local trace=$1 cfg=$2 name s w ps pw
    shift 2
    name=grid2-$(basename "$trace" .zst)-$(basename "$cfg" .yaml)
    [ $# = 0 ] || name=$name-$(echo "$*" | tr -c 'a-z0-9\n' '_')
    "$IOSIM" iotlb-sweep --config "$cfg" "$@" --sets 1,16 --ways 1,3 \
        --psc-sets 1,4 --psc-ways 1,3 "$trace" > "$WORK/$name.csv" \
        2> "$WORK/$name.err" || fail "$name: $(cat "$WORK/$name.err")"
    grep -q "16 points from one pass per IOTLB geometry (4; exact)" \
        "$WORK/$name.err" || fail "$name: not one pass: $(cat "$WORK/$name.err")"
    for s in 1 16; do for w in 1 3; do for ps in 1 4; do for pw in 1 3; do
        "$IOSIM" --config "$cfg" "$@" --set vtd.iotlb.sets="$s" \
            --set vtd.iotlb.ways="$w" --set vtd.psc_pd.sets="$ps" \
            --set vtd.psc_pd.ways="$pw" --format csv --no-progress \
            "$trace" 2>/dev/null |
        awk -F, -v s="$s" -v w="$w" -v ps="$ps" -v pw="$pw" '
            $1 == "stat" { v[$3] = $4 }
            END { printf "%d,%d,%d,%s,%s,%s,%s,%s,%d,%d,%s\n", s, w, s * w,
                  v["iotlb.lookups"], v["iotlb.hits"], v["iotlb.misses"],
                  v["iotlb.evictions"], v["iotlb.invalidated"], ps, pw,
                  v["psc.l3_misses"] }'
    done; done; done; done > "$WORK/$name.want"
    awk -F, 'NR > 1 { print $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," $7 \
        "," $8 "," $9 "," $10 "," $14 }' "$WORK/$name.csv" > "$WORK/$name.got"
    if ! cmp -s "$WORK/$name.want" "$WORK/$name.got"; then
        fail "$name: IOTLB x PDE grid differs from separate runs:"
        diff "$WORK/$name.want" "$WORK/$name.got" | head -5
    fi
    awk -F, 'NR > 1 && $12 != $13 + $14 { bad = 1 } NR > 1 && $13 > 0 { hit = 1 }
             NR == 2 { m = $14 } NR > 1 && $14 != m { varies = 1 }
             END { exit bad || !hit || !varies }' "$WORK/$name.csv" ||
        fail "$name: psc lookups != hits + misses, no PDE hits, or no variation"
}
"$IOSIM_TRACE" gen random --window 64M --size 64 --direction read \
    --count 20000 --page-size 4K --seed 7 -o "$WORK/iotlb-rand64.zst" \
    >/dev/null 2>&1 || fail "gen random 64M"
check_grid2 "$WORK/iotlb-rand64.zst" "$SRC/configs/vtd.yaml"
check_grid2 "$WORK/iotlb-nic.zst" "$SRC/configs/vtd.yaml" --set os.policy=lazy
check_grid2 "$SRC/traces/redis-lazy-qemu.zst" "$SRC/configs/qemu-guest.yaml"
check_grid2 "$SRC/traces/nginx-lazy.zst" "$SRC/configs/nested-guest.yaml"
# Walks in flight other than complete couple the IOTLB to the PSCs (a
# walk's time decides whether an invalidation discards its fill): the
# grid falls back to separate sims, says why, and still equals them
# (psc misses only).
"$IOSIM" iotlb-sweep --config "$SRC/configs/vtd.yaml" \
    --set vtd.inval_walks_in_flight=restart --sets 16 --ways 4 \
    --psc-sets 1 --psc-ways 1,8 "$WORK/iotlb-nic.zst" > "$WORK/g2r.csv" \
    2> "$WORK/g2r.err"
grep -q "2 points as separate sims: vtd.inval_walks_in_flight is not complete" \
    "$WORK/g2r.err" || fail "restart: $(cat "$WORK/g2r.err")"
for pw in 1 8; do
    "$IOSIM" --config "$SRC/configs/vtd.yaml" \
        --set vtd.inval_walks_in_flight=restart --set vtd.iotlb.sets=16 \
        --set vtd.iotlb.ways=4 --set vtd.psc_pd.sets=1 \
        --set vtd.psc_pd.ways="$pw" --format csv --no-progress \
        "$WORK/iotlb-nic.zst" 2>/dev/null |
    awk -F, -v pw="$pw" '$1 == "stat" { v[$3] = $4 } END {
        printf "16,4,64,%s,%s,%s,%s,%s,1,%d,%d,,,%s,,\n", v["iotlb.lookups"],
        v["iotlb.hits"], v["iotlb.misses"], v["iotlb.evictions"],
        v["iotlb.invalidated"], pw, pw, v["psc.l3_misses"] }'
done > "$WORK/g2r.want"
sed 1d "$WORK/g2r.csv" | cmp -s - "$WORK/g2r.want" ||
    fail "restart: separate sims differ: $(diff "$WORK/g2r.want" <(sed 1d "$WORK/g2r.csv"))"
# the coupling is real: the IOTLB's misses differ with the PDE cache
[ "$(cut -d, -f6 "$WORK/g2r.want" | sort -u | wc -l)" = 2 ] ||
    fail "restart: IOTLB misses do not depend on the PDE cache here"
# --plain gives the same IOTLB counters and PDE misses as the one pass
"$IOSIM" iotlb-sweep --config "$SRC/configs/vtd.yaml" --set os.policy=lazy \
    --plain --sets 1,16 --ways 1,3 --psc-sets 1,4 --psc-ways 1,3 "$WORK/iotlb-nic.zst" \
    2>/dev/null | cut -d, -f1-11,14 > "$WORK/g2p.got"
cut -d, -f1-11,14 "$WORK/grid2-iotlb-nic-vtd-__set_os_policy_lazy.csv" |
    cmp -s - "$WORK/g2p.got" ||
    fail "--plain IOTLB x PDE grid differs"

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
            "--sets 1 --ways 1 --cache psc_pml4" \
            "--sets 1 --ways 1 --psc-sets 1" \
            "--sets 1 --ways 1 --psc-sets 3 --psc-ways 1" \
            "--sets 1 --ways 1 --psc-sets 1 --psc-ways 1 --cache psc_pd"; do
    # shellcheck disable=SC2086
    "$IOSIM" iotlb-sweep $args "$WORK/iotlb-rand.zst" > "$WORK/bad.out" \
        2> "$WORK/bad.err"
    rc=$?
    [ "$rc" = 2 ] || fail "'$args': exit $rc, not 2"
    [ "$(wc -l < "$WORK/bad.err")" = 1 ] || fail "'$args': not one line"
    [ -s "$WORK/bad.out" ] && fail "'$args': wrote a table"
done
finish
