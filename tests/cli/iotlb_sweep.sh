#!/usr/bin/env bash
# iotlb_sweep.sh — `iosim iotlb-sweep` computes every IOTLB (or PDE cache)
# geometry of a grid in one pass (stack-distance simulation); its counters
# must equal those of separate plain iosim runs of each geometry (an
# independent route: the ordinary model with --set vtd.iotlb.sets/ways or
# vtd.psc_pd.sets/ways), on shipped traces and on generated ones with hits
# (gen random over a small window) and with hits between invalidations
# (gen nic).  The IOTLB x PDE-cache grid (--psc-sets/--psc-ways) against
# separate runs setting both geometries, and its fallback when walks in
# flight couple the two.  Also: --threads 2 (the shadow on a thread of
# its own) gives the same table, byte for byte; --plain too; a non-LRU
# base falls back to separate sims and says why; bad input is one line,
# exit 2, no table.
#
# The separate runs of each check are one `iosim --sweep` process: it
# builds an ordinary sim per point of the grid (iosim_point_sim_new, the
# plain model, no one-pass shortcut: --plain, so no sim takes another's
# results either, sim/sweep/share.c) and feeds them the records it decodes
# once.  The two long bare-metal captures are replayed from their first
# records only (redis-strict 100,000 of 413,694, nginx-lazy 40,000 of
# 124,373; convert --count): the BENCH_START mark, maps, unmaps with their
# invalidations and evictions all fall in them (asserted below).  Separate sims
# of the full captures under ASan took most of this test's 60-80 s.
. "${SRC:?}/tests/cli/lib/common.sh"

"$IOSIM_TRACE" convert --count 100000 "$SRC/traces/redis-strict.zst" \
    -o "$WORK/redis-strict.zst" || fail "convert redis-strict"
"$IOSIM_TRACE" convert --count 40000 "$SRC/traces/nginx-lazy.zst" \
    -o "$WORK/nginx-lazy.zst" || fail "convert nginx-lazy"

# plain FIELDS IOSIM-ARGS...: one line per sim of `iosim --format csv
# IOSIM-ARGS` (in its order: the first --sweep outermost), FIELDS
# separated by commas: a counter (iotlb.hits), a swept key's value
# (=vtd.iotlb.sets), a product of two (=vtd.iotlb.sets*vtd.iotlb.ways)
plain() {
    local fields=$1
    shift
    "$IOSIM" --plain "$@" --format csv --no-progress 2>/dev/null |
    awk -F, -v fields="$fields" '
        function val(l, k) {
            if (!match(l, "(^| )" k "=[^ ]*")) return ""
            l = substr(l, RSTART, RLENGTH); sub(/^ /, "", l)
            return substr(l, length(k) + 2)
        }
        $1 == "stat" {
            if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
            v[$2, $3] = $4
        }
        END {
            nf = split(fields, f, ",")
            for (i = 1; i <= n; i++) {
                line = ""
                for (j = 1; j <= nf; j++) {
                    x = f[j]
                    if (x ~ /^=.*\*/) {
                        split(substr(x, 2), ab, "*")
                        x = val(order[i], ab[1]) * val(order[i], ab[2])
                    } else if (x ~ /^=/) x = val(order[i], substr(x, 2))
                    else x = v[order[i], x]
                    line = line (j > 1 ? "," : "") x
                }
                print line
            }
        }'
}

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
    # --threads 2: the shadow updated on a thread of its own, the same rows
    "$IOSIM" iotlb-sweep --threads 2 --config "$cfg" "$@" --sets 1,16 \
        --ways 1,3,8 "$trace" > "$WORK/$name.t2" 2> "$WORK/$name.t2err" &&
        cmp -s "$WORK/$name.csv" "$WORK/$name.t2" &&
        cmp -s "$WORK/$name.err" "$WORK/$name.t2err" ||
        fail "$name: --threads 2 differs: $(diff "$WORK/$name.csv" \
            "$WORK/$name.t2" | head -n 3)"
    {
        echo "sets,ways,entries,lookups,hits,misses,evictions,invalidated"
        plain "=vtd.iotlb.sets,=vtd.iotlb.ways,=vtd.iotlb.sets*vtd.iotlb.ways,iotlb.lookups,iotlb.hits,iotlb.misses,iotlb.evictions,iotlb.invalidated" \
            --config "$cfg" "$@" --sweep vtd.iotlb.sets="${SETS// /,}" \
            --sweep vtd.iotlb.ways="${WAYS// /,}" "$trace"
    } > "$WORK/$name.want"
    if ! cmp -s "$WORK/$name.want" "$WORK/$name.csv"; then
        fail "$name: one pass differs from separate runs:"
        diff "$WORK/$name.want" "$WORK/$name.csv" | head -5
    fi
    # the check must be able to fail: the separate runs saw traffic, and
    # every geometry was asked for
    awk -F, 'NR > 1 && $4 > 0 { ok = 1 } END { exit !ok }' \
        "$WORK/$name.want" || fail "$name: no IOTLB lookups"
    [ "$(wc -l < "$WORK/$name.want")" = 7 ] || fail "$name: not 6 separate sims"
}

check "$WORK/redis-strict.zst" "$SRC/configs/vtd.yaml"
check "$WORK/nginx-lazy.zst" "$SRC/configs/vtd.yaml"
# the captures' prefixes still evict and invalidate (vtd.yaml is strict:
# every unmap invalidates its entry, so neither the prefixes nor the whole
# captures hit)
for n in redis-strict-vtd nginx-lazy-vtd; do
    awk -F, 'NR > 1 && $7 > 0 { e = 1 } NR > 1 && $8 > 0 { i = 1 }
             END { exit !(e && i) }' "$WORK/$n.want" ||
        fail "$n: no evictions or no invalidations in the separate runs"
done
check "$SRC/traces/redis-lazy-qemu.zst" "$SRC/configs/qemu-guest.yaml"
check "$SRC/traces/memcached-strict-pcap-qemu.zst" "$SRC/configs/nested-guest.yaml"
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
    plain "=vtd.psc_pd.sets,=vtd.psc_pd.ways,psc.l3_misses" --config "$cfg" \
        --sweep vtd.psc_pd.sets="${SETS// /,}" \
        --sweep vtd.psc_pd.ways="${WAYS// /,}" "$trace" > "$WORK/$name.want"
    [ "$(wc -l < "$WORK/$name.want")" = 6 ] || fail "$name: not 6 separate sims"
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
check_psc "$WORK/redis-strict.zst" "$SRC/configs/vtd.yaml"
check_psc "$WORK/nginx-lazy.zst" "$SRC/configs/qemu-guest.yaml"
check_psc "$WORK/iotlb-nic.zst" "$SRC/configs/nested-guest.yaml"
# separate sims of the PDE cache: misses only, the other fields empty
"$IOSIM" iotlb-sweep --cache psc_pd --plain --config "$SRC/configs/vtd.yaml" \
    --sets 1 --ways 1 "$WORK/iotlb-nic.zst" 2>/dev/null | sed -n 2p |
    grep -Eq '^1,1,1,,,[0-9]+,,$' || fail "psc_pd --plain: not misses only"

# --cache psc_pdpt / psc_pml4: the PDPTE and PML4E caches alone, against
# psc.l2_misses / psc.l1_misses of separate runs.  The shipped traces
# use one or two PDPTEs, so a text trace does: 4 KB pages in 8 PML4E x 4
# PDPTE regions (IOVA k << 39 | j << 30), DMAs among them in a fixed
# pseudo-random order, every 7th page unmapped and mapped again (strict:
# invalidations); no IOTLB and 1-entry caches below the one swept, so
# every walk reaches it.
awk 'BEGIN {
    print "# iosim-trace text v1"; print "#meta has_dma=1"; print "#meta cpus=1"
    x = 7; t = 0   # (hex by halves: awk integers may be 32 bits)
    split("00000000 40000000 80000000 c0000000", lo, " ")
    for (k = 0; k < 8; k++) for (j = 0; j < 4; j++) {
        iova[n++] = sprintf("0x%x%s", k * 128 + 1, lo[j + 1])
        printf "MAP t=0 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=%s size=4096 phys=0x10%08x prot=rw\n",
            iova[n - 1], n * 4096
    }
    for (i = 0; i < 6000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        p = int(x / 65536) % n; t += 10
        printf "DMA t=%d dev=01:00.0 pasid=0 iova=%s size=64 dir=read dom=1\n", t, iova[p]
        if (i % 7 == 0) {
            printf "UNMAP t=%d cpu=0 dev=01:00.0 dom=1 pasid=0 iova=%s size=4096\n", t, iova[p]
            printf "MAP t=%d cpu=0 dev=01:00.0 dom=1 pasid=0 iova=%s size=4096 phys=0x10%08x prot=rw\n",
                t, iova[p], (p + 1) * 4096
        }
    }
}' > "$WORK/upper.txt"
check_upper() { # CACHE KEY STAT --set ...: one pass vs separate runs
    local cache=$1 key=$2 stat=$3 name=upper-$1
    shift 3
    "$IOSIM" iotlb-sweep --cache "$cache" --config "$SRC/configs/vtd.yaml" \
        --set vtd.iotlb.enabled=false "$@" --sets 1,2 --ways 1,2,4 \
        "$WORK/upper.txt" > "$WORK/$name.csv" 2> "$WORK/$name.err" ||
        fail "$name: $(cat "$WORK/$name.err")"
    grep -q "from one pass (exact)" "$WORK/$name.err" ||
        fail "$name: not one pass: $(cat "$WORK/$name.err")"
    plain "=$key.sets,=$key.ways,$stat" --config "$SRC/configs/vtd.yaml" \
        --set vtd.iotlb.enabled=false "$@" --sweep "$key.sets=1,2" \
        --sweep "$key.ways=1,2,4" "$WORK/upper.txt" > "$WORK/$name.want"
    [ "$(wc -l < "$WORK/$name.want")" = 6 ] || fail "$name: not 6 separate sims"
    awk -F, 'NR > 1 { print $1 "," $2 "," $6 }' "$WORK/$name.csv" \
        > "$WORK/$name.got"
    cmp -s "$WORK/$name.want" "$WORK/$name.got" ||
        fail "$name: misses differ from separate runs: $(paste -sd' ' "$WORK/$name.got")"
    # the misses differ between geometries (the check could fail)
    [ "$(cut -d, -f3 "$WORK/$name.want" | sort -u | wc -l)" -ge 3 ] ||
        fail "$name: misses hardly differ: $(paste -sd' ' "$WORK/$name.want")"
}
check_upper psc_pdpt vtd.psc_pdpt psc.l2_misses \
    --set vtd.psc_pd.sets=1 --set vtd.psc_pd.ways=1
check_upper psc_pml4 vtd.psc_pml4 psc.l1_misses \
    --set vtd.psc_pd.sets=1 --set vtd.psc_pd.ways=1 \
    --set vtd.psc_pdpt.sets=1 --set vtd.psc_pdpt.ways=1

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
    plain "=vtd.iotlb.sets,=vtd.iotlb.ways,=vtd.iotlb.sets*vtd.iotlb.ways,iotlb.lookups,iotlb.hits,iotlb.misses,iotlb.evictions,iotlb.invalidated,=vtd.psc_pd.sets,=vtd.psc_pd.ways,psc.l3_misses" \
        --config "$cfg" "$@" --sweep vtd.iotlb.sets=1,16 \
        --sweep vtd.iotlb.ways=1,3 --sweep vtd.psc_pd.sets=1,4 \
        --sweep vtd.psc_pd.ways=1,3 "$trace" > "$WORK/$name.want"
    [ "$(wc -l < "$WORK/$name.want")" = 16 ] || fail "$name: not 16 separate sims"
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
check_grid2 "$WORK/nginx-lazy.zst" "$SRC/configs/nested-guest.yaml"
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
            "--sets 1 --ways 1 --cache psc_pml5" \
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
