#!/usr/bin/env bash
# sweep_share.sh — configurations that differ only in the geometry of the
# IOTLB and the paging-structure caches share one run when those caches
# hit and miss at the same lookups (sim/sweep/share.c).  Every counter,
# derived value, warning and summary of every sim must be byte-identical
# to --plain (each configuration its own sim) and to separate
# single-configuration runs (the independent route), on a trace where
# every geometry behaves alike (redis-strict: one run serves all), on
# generated traces with hits (gen random, gen nic: second and third
# passes) and on a QEMU capture under bare metal; with --compare mixed in
# (one group per policy), PDE, PDPTE and PML4E cache sweeps, with
# --threads 2 and 3 (byte for byte: the shadows' own thread, or two that
# split their set counts), and in a sweep
# file.  The report's '# replay:' line says
# what was shared, or why nothing could be (FIFO, walks in flight).
. "${SRC:?}/tests/cli/lib/common.sh"
C=$SRC/configs/vtd.yaml
# the long captures from their first records (ASan runs of the whole ones
# took most of this test's time; tests/cli/iotlb_sweep.sh does the same)
R=$WORK/redis-strict.zst
Q=$WORK/redis-strict-pcap-qemu.zst
"$IOSIM_TRACE" convert --count 100000 "$SRC/traces/redis-strict.zst" \
    -o "$R" >/dev/null 2>&1 || fail "convert redis-strict"
"$IOSIM_TRACE" convert --count 60000 "$SRC/traces/redis-strict-pcap-qemu.zst" \
    -o "$Q" >/dev/null 2>&1 || fail "convert redis-strict-pcap-qemu"
"$IOSIM_TRACE" gen random --window 256K --size 64 --direction read \
    --count 40000 --page-size 4K --seed 7 -o "$WORK/rand.zst" \
    >/dev/null 2>&1 || fail "gen random"
"$IOSIM_TRACE" gen nic --packets 3000 --device-rings \
    -o "$WORK/nic.zst" >/dev/null 2>&1 || fail "gen nic"

SW=(--sweep vtd.iotlb.sets=1,4,16 --sweep vtd.iotlb.ways=1,2,8)
# a JSON report without what says how it ran (--plain is not in the
# command: it changes no number)
body() { sed 's/, "replay": "[^"]*"//' "$1"; }

check() { # NAME TRACE SINGLE [ARGS...]: shared vs --plain, and vs single
    # runs of each geometry (SINGLE=all) or of the diagonal (SINGLE=some)
    local name=$1 trace=$2 single=$3
    shift 3
    "$IOSIM" --config "$C" --no-progress --format json "$@" "${SW[@]}" \
        "$trace" > "$WORK/$name.shared" 2> "$WORK/$name.err" ||
        fail "$name: shared run: $(head -n 1 "$WORK/$name.err")"
    "$IOSIM" --config "$C" --no-progress --format json --plain "$@" \
        "${SW[@]}" "$trace" > "$WORK/$name.plain" 2>&1 ||
        fail "$name: plain run"
    cmp -s <(body "$WORK/$name.shared") <(body "$WORK/$name.plain") ||
        fail "$name: shared report differs from --plain"
    # the independent route: one iosim run per geometry, its stat rows
    # against the sweep's column of that label
    "$IOSIM" --config "$C" --no-progress --format csv "$@" "${SW[@]}" \
        "$trace" > "$WORK/$name.csv" 2>/dev/null || fail "$name: csv run"
    local s w label
    for s in 1 4 16; do
        for w in 1 2 8; do
            label="strict vtd.iotlb.sets=$s vtd.iotlb.ways=$w"
            [ "$#" -gt 0 ] && continue # --compare labels: checked above
            [ "$single" = all ] || [ "$s/$w" = 1/1 ] || [ "$s/$w" = 4/2 ] ||
                [ "$s/$w" = 16/8 ] || continue
            "$IOSIM" --config "$C" --no-progress --format csv \
                --set vtd.iotlb.sets=$s --set vtd.iotlb.ways=$w "$trace" \
                2>/dev/null | awk -F, '$1 ~ /^(stat|derived|warning|summary)$/ {
                    print $1 "," $3 "," $4 }' \
                > "$WORK/$name.one"
            awk -F, -v l="$label" '$2 == l &&
                    $1 ~ /^(stat|derived|warning|summary)$/ {
                    print $1 "," $3 "," $4 }' "$WORK/$name.csv" \
                > "$WORK/$name.col"
            [ -s "$WORK/$name.col" ] || fail "$name: no column $label"
            cmp -s "$WORK/$name.one" "$WORK/$name.col" ||
                fail "$name: $label differs from a single run: $(diff \
                    "$WORK/$name.one" "$WORK/$name.col" | head -n 3)"
        done
    done
}

replay_line() { grep -o '"replay": "[^"]*"' "$WORK/$1.shared"; }

# every geometry alike: one sim serves nine
check redis "$R" some
replay_line redis | grep -q "8 of 9 configurations took the run of another.*sims run: 1, passes over the trace: 1" ||
    fail "redis-strict: not one run for nine: $(replay_line redis)"
# hits: some geometries alike, others in later passes
check rand "$WORK/rand.zst" all
replay_line rand | grep -q "passes over the trace: [23]" ||
    fail "rand: no second pass: $(replay_line rand)"
check nic "$WORK/nic.zst" all
check qemu "$Q" some
# nine tenants (merge renumbers their domains): a leader's shadow is
# given keys of nine tags, more than allassoc_invalidate tells apart
# (8), so past the eighth it skips no invalidation; shared, --plain,
# single runs and --threads 2 agree (allassoc.c seen_tag)
"$IOSIM_TRACE" gen nic --packets 400 --device-rings \
    -o "$WORK/nic400.zst" >/dev/null 2>&1 || fail "gen nic 400"
"$IOSIM_TRACE" merge $(printf "$WORK/nic400.zst %.0s" 1 2 3 4 5 6 7 8 9) \
    -o "$WORK/nic9.zst" >/dev/null 2>&1 || fail "merge nine tenants"
check nic9 "$WORK/nic9.zst" some
replay_line nic9 | grep -q "took the run of another" ||
    fail "nic9: nothing shared: $(replay_line nic9)"
"$IOSIM" --config "$C" --no-progress --format json --threads 2 "${SW[@]}" \
    "$WORK/nic9.zst" > "$WORK/nic9.t2" 2>/dev/null || fail "nic9: --threads 2"
cmp -s <(body "$WORK/nic9.plain") <(body "$WORK/nic9.t2") ||
    fail "nic9: --threads 2 differs from --plain"
# the counters differ between geometries (the check can fail)
n=$(grep -o '"iotlb.evictions": [0-9]*' "$WORK/rand.shared" | sort -u | wc -l)
[ "$n" -ge 3 ] || fail "rand: $n distinct eviction counts, want >= 3"
n=$(grep -o '"iotlb.evictions": [0-9]*' "$WORK/redis.shared" | sort -u | wc -l)
[ "$n" -ge 1 ] || fail "redis: no evictions"

# --compare: one group per policy, each shared within
check cmp "$R" some --compare strict,lazy
# (strict's nine alike, as above; lazy's IOTLBs hit, so some differ)
n=$(replay_line cmp | sed -n 's/.*"replay": "\([0-9]*\) of 18 .*/\1/p')
[ "${n:-0}" -ge 8 ] || fail "compare: want >= 8 of 18 shared: $(replay_line cmp)"

# the paging-structure caches: a PDE-cache sweep of gen nic (its
# psc.invalidated differs between geometries) and PDPTE x PML4E x IOTLB
# on redis-strict, shared vs --plain and vs single runs of two points
psc() { # NAME TRACE SWEEPS...: shared vs --plain
    local name=$1 trace=$2
    shift 2
    "$IOSIM" --config "$C" --no-progress --format json "$@" "$trace" \
        > "$WORK/$name.shared" 2>/dev/null || fail "$name: shared run"
    "$IOSIM" --config "$C" --no-progress --format json --plain "$@" \
        "$trace" > "$WORK/$name.plain" 2>/dev/null || fail "$name: plain run"
    cmp -s <(body "$WORK/$name.shared") <(body "$WORK/$name.plain") ||
        fail "$name: shared report differs from --plain"
    replay_line "$name" | grep -q "took the run of another" ||
        fail "$name: nothing shared: $(replay_line "$name")"
}
psc pde "$WORK/nic.zst" --sweep vtd.psc_pd.sets=1,4,16 \
    --sweep vtd.psc_pd.ways=1,2,8
n=$(grep -o '"psc.invalidated": [0-9]*' "$WORK/pde.shared" | sort -u | wc -l)
[ "$n" -ge 2 ] || fail "pde: $n distinct psc.invalidated, want >= 2"
psc upper "$R" --sweep vtd.psc_pdpt.ways=1,4 \
    --sweep vtd.psc_pml4.ways=1,16 --sweep vtd.iotlb.sets=1,8
for pt in "1 2" "16 8"; do
    set -- $pt
    "$IOSIM" --config "$C" --no-progress --format csv --set vtd.psc_pd.sets=$1 \
        --set vtd.psc_pd.ways=$2 "$WORK/nic.zst" 2>/dev/null |
        awk -F, '$1 == "stat" { print $3 "," $4 }' > "$WORK/pde.one"
    "$IOSIM" --config "$C" --no-progress --format csv \
        --sweep vtd.psc_pd.sets=1,4,16 --sweep vtd.psc_pd.ways=1,2,8 \
        "$WORK/nic.zst" 2>/dev/null | awk -F, -v l="strict vtd.psc_pd.sets=$1 vtd.psc_pd.ways=$2" \
        '$1 == "stat" && $2 == l { print $3 "," $4 }' > "$WORK/pde.col"
    [ -s "$WORK/pde.col" ] && cmp -s "$WORK/pde.one" "$WORK/pde.col" ||
        fail "pde: sets=$1 ways=$2 differs from a single run"
done

# --threads 2 and 3: the same report
for t in 2 3; do
    "$IOSIM" --config "$C" --no-progress --format json --threads $t \
        "${SW[@]}" "$WORK/rand.zst" > "$WORK/rand.t$t" 2>/dev/null ||
        fail "threads $t"
    cmp -s <(body "$WORK/rand.shared") <(body "$WORK/rand.t$t") ||
        fail "--threads $t differs from --threads 1"
done
# ... byte for byte, the replay line too: a pass of one leader updates its
# shadows on a thread of their own (gen nic: the IOTLB's; the PDE sweep:
# the PDE cache's), or with --threads 3 on two, each shadow's set counts
# split between them (the give-up's decisions made from both), the
# second pass runs a front's back ends on the threads
for name in nic pde; do
    case $name in
    nic) set -- "${SW[@]}" ;;
    pde) set -- --sweep vtd.psc_pd.sets=1,4,16 --sweep vtd.psc_pd.ways=1,2,8 ;;
    esac
    for t in 2 3; do
        "$IOSIM" --config "$C" --no-progress --format json --threads $t "$@" \
            "$WORK/nic.zst" > "$WORK/$name.t$t" 2>/dev/null ||
            fail "$name: threads $t"
        cmp -s "$WORK/$name.shared" "$WORK/$name.t$t" ||
            fail "$name: --threads $t differs from --threads 1: $(diff \
                "$WORK/$name.shared" "$WORK/$name.t$t" | head -n 3)"
    done
done

# nothing shared, and the report says why
"$IOSIM" --config "$C" --no-progress --set vtd.iotlb.replacement=fifo \
    "${SW[@]}" "$R" > "$WORK/fifo.txt" ||
    fail "fifo run"
grep -q "^# replay: separate sims: vtd.iotlb replacement is not lru" \
    "$WORK/fifo.txt" || fail "fifo: $(grep '^# replay' "$WORK/fifo.txt")"
"$IOSIM" --config "$C" --no-progress \
    --set vtd.inval_walks_in_flight=restart "${SW[@]}" \
    "$R" > "$WORK/restart.txt" || fail "restart"
grep -q "^# replay: separate sims: vtd.inval_walks_in_flight is not complete" \
    "$WORK/restart.txt" ||
    fail "restart: $(grep '^# replay' "$WORK/restart.txt")"
"$IOSIM" --config "$C" --no-progress --epoch 1ms --epoch-out "$WORK/ep.csv" \
    "${SW[@]}" "$R" > "$WORK/epoch.txt" || fail "epoch run"
grep -q "^# replay: separate sims: a per-configuration output" \
    "$WORK/epoch.txt" || fail "epoch: $(grep '^# replay' "$WORK/epoch.txt")"
# an error: the same line as --plain's (the first failing sim, its record)
"$IOSIM" --config "$C" --no-progress --strict-input "${SW[@]}" \
    "$SRC/traces/nginx-lazy.zst" > /dev/null 2> "$WORK/strict.shared"
rc=$?
"$IOSIM" --config "$C" --no-progress --strict-input --plain "${SW[@]}" \
    "$SRC/traces/nginx-lazy.zst" > /dev/null 2> "$WORK/strict.plain"
[ "$rc" = 2 ] && grep -q "record 32" "$WORK/strict.shared" &&
    cmp -s "$WORK/strict.shared" "$WORK/strict.plain" ||
    fail "--strict-input: exit $rc, '$(cat "$WORK/strict.shared")' vs '$(cat "$WORK/strict.plain")'"
# ... and where a group's leader (its sim of the most lines: sets=16)
# comes after a sim that runs alone (FIFO) but stands for the first sim
# (sets=1): the error names that one, as --plain's does
MIX=(--sweep vtd.iotlb.sets=1,16 --sweep vtd.iotlb.replacement=lru,fifo)
"$IOSIM" --config "$C" --no-progress --strict-input "${MIX[@]}" \
    "$SRC/traces/nginx-lazy.zst" > /dev/null 2> "$WORK/mix.shared"
"$IOSIM" --config "$C" --no-progress --strict-input --plain "${MIX[@]}" \
    "$SRC/traces/nginx-lazy.zst" > /dev/null 2> "$WORK/mix.plain"
grep -q "sets=1 vtd.iotlb.replacement=lru: record 32" "$WORK/mix.plain" &&
    cmp -s "$WORK/mix.shared" "$WORK/mix.plain" ||
    fail "--strict-input, a leader after a sim alone: '$(cat "$WORK/mix.shared")' vs '$(cat "$WORK/mix.plain")'"
# ... and with --threads 2 (the failing leader's shadows on their own
# thread, which must end too)
"$IOSIM" --config "$C" --no-progress --strict-input --threads 2 "${SW[@]}" \
    "$SRC/traces/nginx-lazy.zst" > /dev/null 2> "$WORK/strict.t2"
rc=$?
[ "$rc" = 2 ] && cmp -s "$WORK/strict.shared" "$WORK/strict.t2" ||
    fail "--strict-input --threads 2: exit $rc, '$(cat "$WORK/strict.t2")'"
# a single configuration, or --plain: no replay line (reports as before)
"$IOSIM" --config "$C" --no-progress "$R" |
    grep -q '^# replay' && fail "a single run has a replay line"
"$IOSIM" --config "$C" --no-progress --plain "${SW[@]}" \
    "$R" | grep -q '^# replay' &&
    fail "--plain has a replay line"

# a sweep file's shard shares too: each row's metrics equal a single run
# of its geometry
cat > "$WORK/sw.yaml" <<EOF
traces: [rand.zst]
config: $C
grid:
  - product:
      vtd.iotlb.sets: [1, 4, 16]
      vtd.iotlb.ways: [1, 2, 8]
metrics: [iotlb.hits, iotlb.evictions, iotlb.invalidated, walk.walks, dma.latency_ns_total]
EOF
M="iotlb.hits iotlb.evictions iotlb.invalidated walk.walks dma.latency_ns_total"
if "$IOSIM" sweep "$WORK/sw.yaml" --jobs 1 -o "$WORK/sw.csv" \
        > /dev/null 2> "$WORK/sw.err"; then
    for s in 1 4 16; do
        for w in 1 2 8; do
            want=$("$IOSIM" --config "$C" --no-progress --format csv \
                --set vtd.iotlb.sets=$s --set vtd.iotlb.ways=$w \
                "$WORK/rand.zst" 2>/dev/null | awk -F, -v m="$M" '
                BEGIN { n = split(m, k, " ") }
                $1 == "stat" { v[$3] = $4 }
                END { for (i = 1; i <= n; i++) printf "%s%s", v[k[i]],
                      i < n ? "," : "\n" }')
            got=$(python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["vtd.iotlb.sets"] == sys.argv[2] and r["vtd.iotlb.ways"] == sys.argv[3]:
        print(",".join(r[k] for k in sys.argv[4].split()))' \
                "$WORK/sw.csv" "$s" "$w" "$M")
            [ "$want" = "$got" ] ||
                fail "sweep file: sets=$s ways=$w: '$got', want '$want'"
        done
    done
else
    fail "sweep file run: $(head -n 1 "$WORK/sw.err")"
fi
finish
