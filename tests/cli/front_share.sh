#!/usr/bin/env bash
# front_share.sh — configurations that differ only in the translation
# caches' keys (every key of a cache that chooses a replacement policy:
# vtd.iotlb.*, vtd.psc_*.*, vtd.context_cache.*, ...) share one front
# (sim/sweep/share.c make_fronts, system.h sim_front_attach): the trace's
# view, the OS policy, its page tables and its invalidations run once,
# and each configuration's VT-d caches, walks and device pipeline do the
# front's log of each batch.  Every counter, derived value, warning and
# summary must be byte-identical to --plain (each configuration its own
# sim, no front) and, for some points, to single runs (the independent
# route): on a generated random stream with marks (window), a capture
# whose accesses a device model synthesizes (touch, pre-trace maps that
# are not counted), a lazy capture (flush queue, stale hits), a
# passthrough capture (no translation), a QEMU capture (the trace's own
# DMA records), requests of two PASIDs on one page (legacy and scalable
# mode), requests without a DID from a device that changes domain,
# one-page requests of changing sizes and gen nic with --compare of three policies; sweeps of
# the IOTLB (FIFO: no LRU shadow can share the run), PSC hit times and
# the context cache; with --threads 2.  Configurations that differ in a
# key the front reads (vtd.iq_desc_ns, os.policy) get fronts of their
# own; a mode other than bare metal gets none, and the '# replay:' line
# says so.
. "${SRC:?}/tests/cli/lib/common.sh"
C=$SRC/configs/vtd.yaml
cut() { # NAME COUNT: the first COUNT records of a shipped trace
    "$IOSIM_TRACE" convert --count "$2" "$SRC/traces/$1.zst" \
        -o "$WORK/$1.zst" >/dev/null 2>&1 || fail "convert $1"
}
cut redis-strict 60000
cut redis-lazy 60000
cut memcached-passthrough 40000
cut redis-strict-pcap-qemu 40000
"$IOSIM_TRACE" gen random --window 256K --size 64 --direction read \
    --count 30000 --page-size 4K --seed 3 -o "$WORK/rand.zst" \
    >/dev/null 2>&1 || fail "gen random"
"$IOSIM_TRACE" gen nic --packets 2000 --device-rings \
    -o "$WORK/nic.zst" >/dev/null 2>&1 || fail "gen nic"

FIFO=(--set vtd.iotlb.replacement=fifo --sweep vtd.iotlb.sets=1,16
    --sweep vtd.iotlb.ways=1,8)
body() { sed 's/, "replay": "[^"]*"//' "$1"; }
replay_line() { grep -o '"replay": "[^"]*"' "$WORK/$1.shared"; }

check() { # NAME TRACE WANT ARGS...: shared vs --plain; WANT: a regex the
    # replay line must match
    local name=$1 trace=$2 want=$3
    shift 3
    "$IOSIM" --config "$C" --no-progress --format json "$@" "$trace" \
        > "$WORK/$name.shared" 2> "$WORK/$name.err" ||
        fail "$name: shared run: $(head -n 1 "$WORK/$name.err")"
    "$IOSIM" --config "$C" --no-progress --format json --plain "$@" \
        "$trace" > "$WORK/$name.plain" 2>&1 || fail "$name: plain run"
    cmp -s <(body "$WORK/$name.shared") <(body "$WORK/$name.plain") ||
        fail "$name: shared front's report differs from --plain: $(diff \
            <(body "$WORK/$name.shared" | tr ',' '\n') \
            <(body "$WORK/$name.plain" | tr ',' '\n') | head -n 4)"
    replay_line "$name" | grep -Eq "$want" ||
        fail "$name: replay line '$(replay_line "$name")', want /$want/"
}
one() { # NAME TRACE LABEL SETS...: the sweep's CSV column LABEL equals a
    # single run with SETS (--set a=b ...), every stat/derived/summary
    local name=$1 trace=$2 label=$3
    shift 3
    "$IOSIM" --config "$C" --no-progress --format csv "$@" "$trace" \
        2>/dev/null | awk -F, '$1 ~ /^(stat|derived|warning|summary)$/ {
            print $1 "," $3 "," $4 }' > "$WORK/$name.one"
    awk -F, -v l="$label" '$2 == l && $1 ~ /^(stat|derived|warning|summary)$/ {
        print $1 "," $3 "," $4 }' "$WORK/$name.csv" > "$WORK/$name.col"
    [ -s "$WORK/$name.col" ] && cmp -s "$WORK/$name.one" "$WORK/$name.col" ||
        fail "$name: '$label' differs from a single run"
}

FRONT1="4 ran as the back ends of 1 shared front"
# a random stream with marks: the window restarts and freezes each back's
# counts (fast path: one-page requests)
check rand "$WORK/rand.zst" "$FRONT1" "${FIFO[@]}"
"$IOSIM" --config "$C" --no-progress --format csv "${FIFO[@]}" \
    "$WORK/rand.zst" > "$WORK/rand.csv" 2>/dev/null || fail "rand csv"
one rand "$WORK/rand.zst" "strict vtd.iotlb.sets=16 vtd.iotlb.ways=1" \
    --set vtd.iotlb.replacement=fifo --set vtd.iotlb.sets=16 \
    --set vtd.iotlb.ways=1
one rand "$WORK/rand.zst" "strict vtd.iotlb.sets=1 vtd.iotlb.ways=8" \
    --set vtd.iotlb.replacement=fifo --set vtd.iotlb.sets=1 \
    --set vtd.iotlb.ways=8
# the counts differ between the back ends (the check can fail)
n=$(grep -o '"iotlb.misses": [0-9]*' "$WORK/rand.shared" | sort -u | wc -l)
[ "$n" -ge 3 ] || fail "rand: $n distinct IOTLB miss counts, want >= 3"
# a device model's accesses (touch), pre-trace maps left uncounted
check strict "$WORK/redis-strict.zst" "$FRONT1" "${FIFO[@]}"
"$IOSIM" --config "$C" --no-progress --format csv "${FIFO[@]}" \
    "$WORK/redis-strict.zst" > "$WORK/strict.csv" 2>/dev/null ||
    fail "strict csv"
one strict "$WORK/redis-strict.zst" "strict vtd.iotlb.sets=16 vtd.iotlb.ways=8" \
    --set vtd.iotlb.replacement=fifo --set vtd.iotlb.sets=16 \
    --set vtd.iotlb.ways=8
# a NIC model's rings: pages the trace never mapped, mapped before it
# began (their maps' counts put back)
check dev "$WORK/redis-strict.zst" "$FRONT1" --set dev.model=virtio-net \
    "${FIFO[@]}"
# lazy: a flush queue, IOTLB hits on unmapped buffers (stale)
check lazy "$WORK/redis-lazy.zst" "$FRONT1" "${FIFO[@]}"
# a DMA after its buffer's lazy unmap: a stale hit where the IOTLB kept
# the entry (8 ways), a fault where the other page evicted it (1 way)
cat > "$WORK/stale.txt" <<'TXT'
# iosim-trace text v1
#meta has_dma=1
MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=4096 phys=0x1000 prot=rw
MAP t=1100 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x20000 size=4096 phys=0x2000 prot=rw
DMA t=2000 dev=01:00.0 pasid=0 iova=0x10000 size=64 dir=write dom=6
DMA t=2100 dev=01:00.0 pasid=0 iova=0x20000 size=8192 dir=read dom=6
UNMAP t=3000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=4096
DMA t=4000 dev=01:00.0 pasid=0 iova=0x10000 size=64 dir=write dom=6
TXT
check stale "$WORK/stale.txt" "$FRONT1" --set os.policy=lazy \
    --set sim.window_only=false "${FIFO[@]}"
got=$(python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["sims"]:
    print(s["label"].split()[-1], s["stat"]["dma.stale_hits"])' \
    "$WORK/stale.shared" | sort -u | tr '\n' ' ')
[ "$got" = "vtd.iotlb.ways=1 0 vtd.iotlb.ways=8 1 " ] ||
    fail "stale: stale hits by ways '$got'"
# a one-page DMA the trace's view has mapped but whose domain has no
# tables (another DID than its MAP's): the front logs it for the back
# ends' quick path (sim_fast_run), which counts a fault in each
{
    echo "# iosim-trace text v1"
    echo "#meta has_dma=1"
    echo "MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=8192 phys=0x1000 prot=rw"
    for t in 2000 2100 2200 2300 2400 2500; do
        echo "DMA t=$t dev=01:00.0 pasid=0 iova=0x10040 size=64 dir=read dom=6"
        echo "DMA t=$((t + 50)) dev=01:00.0 pasid=0 iova=0x11000 size=64 dir=read dom=$((6 + t % 200 / 100))"
    done
} > "$WORK/fault.txt"
check fault "$WORK/fault.txt" "$FRONT1" --set sim.window_only=false "${FIFO[@]}"
got=$(grep -o '"dma.faults": [0-9]*' "$WORK/fault.shared" | sort -u | tr '\n' ' ')
[ "$got" = '"dma.faults": 3 ' ] || fail "fault: dma.faults '$got', want 3 in each"
# requests with and without a PASID on one page: the IOTLB keeps an entry
# per (source, PASID, domain) key, which the front logs for the back ends'
# quick path (legacy mode) and their general path (scalable mode, first
# stage); a back end that took another key would share entries
{
    echo "# iosim-trace text v1"
    echo "#meta has_dma=1"
    echo "MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=5 iova=0x10000 size=8192 phys=0x1000 prot=rw"
    echo "MAP t=1001 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x30000 size=8192 phys=0x9000 prot=rw"
    for t in 2000 2100 2200 2300 2400 2500; do
        echo "DMA t=$t dev=01:00.0 pasid=5 iova=0x10040 size=64 dir=read dom=6"
        echo "DMA t=$((t + 10)) dev=01:00.0 pasid=5 iova=0x11040 size=64 dir=read dom=6"
        echo "DMA t=$((t + 20)) dev=01:00.0 pasid=0 iova=0x30040 size=64 dir=read dom=6"
        echo "DMA t=$((t + 30)) dev=01:00.0 pasid=0 iova=0x10040 size=64 dir=read dom=6"
    done
} > "$WORK/pasid.txt"
check pasid "$WORK/pasid.txt" "$FRONT1" --set sim.window_only=false "${FIFO[@]}"
check pasid-sm "$WORK/pasid.txt" "$FRONT1" --set sim.window_only=false \
    --set vtd.root_mode=scalable --set vtd.translation=first-stage "${FIFO[@]}"
# 4 keys x 6 rounds: the 16 x 8 IOTLB misses each key's first lookup
# alone (4), one way of one set misses all 24
got=$(grep -o '"iotlb.misses": [0-9]*' "$WORK/pasid.shared" | sort -u | tr '\n' ' ')
case $got in
*'"iotlb.misses": 4 '*'"iotlb.misses": 24 '* | *'"iotlb.misses": 24 '*'"iotlb.misses": 4 '*) ;;
*) fail "pasid: IOTLB misses '$got', want 4 (16 x 8) and 24 (1 x 1) among them" ;;
esac
# the same under LRU: a back end with the sweep's shadow (a pass's leader
# in a front) takes the logged key through its own quick path; one set of
# up to 3 ways misses all 24 lookups of 4 keys taken in turn (LRU keeps
# the 3 last), a back end that dropped the PASID would hit
check pasid-lru "$WORK/pasid.txt" "2 ran as the back ends of 1 shared front" \
    --set sim.window_only=false --sweep vtd.iotlb.sets=1,2 \
    --sweep vtd.iotlb.ways=1,2,3
got=$(python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["sims"]:
    if "sets=1 " in s["label"]:
        print(s["stat"]["iotlb.misses"])' "$WORK/pasid-lru.shared" | tr '\n' ' ')
[ "$got" = "24 24 24 " ] ||
    fail "pasid-lru: 1-set IOTLB misses '$got', want 24 in each of 3"
# PSC hit time and the context cache: timing back-end keys, LRU sweeps
# that share no run (hit_ns is not a geometry)
check psc "$WORK/redis-lazy.zst" "6 ran as the back ends of 1 shared front" \
    --sweep vtd.psc_pd.hit_ns=1,9,30 --sweep vtd.context_cache.ways=1,16
n=$(grep -o '"dma.latency_ns_total": [0-9]*' "$WORK/psc.shared" | sort -u | wc -l)
[ "$n" -ge 3 ] || fail "psc: $n distinct latency totals, want >= 3"
# no translation (iommu=pt): the back ends time untranslated requests
check pt "$WORK/memcached-passthrough.zst" "$FRONT1" "${FIFO[@]}"
# the trace's own DMA records, multi-page requests
check qemu "$WORK/redis-strict-pcap-qemu.zst" "$FRONT1" "${FIFO[@]}"
# three policies: a front each (os.policy is not a back-end key)
check nic "$WORK/nic.zst" "12 ran as the back ends of 3 shared fronts" \
    --compare strict,lazy,fands "${FIFO[@]}"
# requests without a DID (dom=0: the context entry's domain) from a
# device that moves from domain 6 to 7 and is attached to 7 again: the
# front logs an attach only where it changes the entry (sim.c
# sim_attach), and every back end must follow the move; each request is
# to a page mapped in the device's domain of the moment (no fault)
{
    echo "# iosim-trace text v1"
    echo "#meta has_dma=1"
    echo "MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=0x4000 phys=0x1000 prot=rw"
    for i in 0 1 2 3 4 5 6 7; do
        echo "DMA t=$((2000 + i)) dev=01:00.0 pasid=0 iova=0x1$((i % 4))040 size=64 dir=read dom=0"
    done
    echo "MAP t=3000 cpu=0 dev=01:00.0 dom=7 pasid=0 iova=0x20000 size=0x4000 phys=0x9000 prot=rw"
    for i in 0 1 2 3 4 5 6 7; do
        echo "DMA t=$((4000 + i)) dev=01:00.0 pasid=0 iova=0x2$((i % 4))040 size=64 dir=read dom=0"
    done
    echo "MAP t=5000 cpu=0 dev=01:00.0 dom=7 pasid=0 iova=0x30000 size=0x1000 phys=0x20000 prot=rw"
    for i in 0 1 2 3; do
        echo "DMA t=$((6000 + i)) dev=01:00.0 pasid=0 iova=0x30080 size=64 dir=read dom=0"
        echo "DMA t=$((6100 + i)) dev=01:00.0 pasid=0 iova=0x2$((i % 4))080 size=64 dir=read dom=0"
    done
} > "$WORK/attach.txt"
check attach "$WORK/attach.txt" "$FRONT1" --set sim.window_only=false \
    "${FIFO[@]}"
got=$(grep -o '"dma.faults": [0-9]*' "$WORK/attach.shared" | sort -u | tr '\n' ' ')
[ "$got" = '"dma.faults": 0 ' ] || fail "attach: dma.faults '$got', want 0 in each"
check attach-lru "$WORK/attach.txt" "ran as the back ends" \
    --set sim.window_only=false --sweep vtd.iotlb.sets=1,2 \
    --sweep vtd.iotlb.ways=1,2,3
# one-page requests of one key whose sizes change in runs (64, 256,
# 4096 B), over 48 pages: the back ends' loop without calls
# (sim.c front_replay_tight) takes a run of one size only, with the terms
# of the size timed last; LRU IOTLBs of 8 ways and others (the plain
# back ends' two copies), two PDE-cache hit times (a walk's latency)
{
    echo "# iosim-trace text v1"
    echo "#meta has_dma=1"
    echo "MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x100000 size=0x30000 phys=0x1000 prot=rw"
    awk 'BEGIN { x = 7; t = 2000
        for (i = 0; i < 3000; i++) {
            x = (x * 1103515245 + 12345) % 2147483648
            k = int(i / 5) % 3; size = k == 0 ? 64 : k == 1 ? 256 : 4096
            off = size == 4096 ? 0 : (x % 8) * 256
            printf "DMA t=%d dev=01:00.0 pasid=0 iova=0x%x size=%d dir=read dom=6\n",
                t, 1048576 + (int(x / 8) % 48) * 4096 + off, size
            t += 10 }
    }'
} > "$WORK/sizes.txt"
check sizes "$WORK/sizes.txt" "4 ran as the back ends of 2 shared fronts" \
    --set sim.window_only=false --sweep vtd.iotlb.ways=4,8 \
    --sweep vtd.psc_pd.hit_ns=1,9
n=$(grep -o '"dma.xlate_time_ns": [0-9]*' "$WORK/sizes.shared" | sort -u | wc -l)
[ "$n" -ge 3 ] || fail "sizes: $n distinct dma.xlate_time_ns, want >= 3"
# threads beyond the sims: each front's back ends on a pool of threads
# (rounds of the log overlapping the front), the same report
for t in 2 6; do
    "$IOSIM" --config "$C" --no-progress --format json --threads $t \
        --compare strict,lazy,fands "${FIFO[@]}" "$WORK/nic.zst" \
        > "$WORK/nic.t$t" 2>/dev/null || fail "threads $t"
    cmp -s <(body "$WORK/nic.shared") <(body "$WORK/nic.t$t") ||
        fail "nic: --threads $t differs from --threads 1"
done
# ... over many logs (40,000 packets: many times the pool's ring of 16
# logs, so the front refills each slot after every back end is past it),
# equal to --plain, with a helper and with three
"$IOSIM_TRACE" gen nic --packets 40000 --device-rings \
    -o "$WORK/nic40.zst" >/dev/null 2>&1 || fail "gen nic 40000"
# threads_plain NAME TRACE WANT THREADS ARGS...: --threads N (each of
# THREADS) equal to --plain, the replay line matching WANT
threads_plain() {
    local name=$1 trace=$2 want=$3 t
    local -a ths
    read -r -a ths <<< "$4"
    shift 4
    "$IOSIM" --config "$C" --no-progress --format json --plain "$@" \
        "$trace" > "$WORK/$name.plain" 2>/dev/null || fail "$name plain"
    for t in "${ths[@]}"; do
        "$IOSIM" --config "$C" --no-progress --format json --threads $t \
            "$@" "$trace" > "$WORK/$name.t$t" 2>/dev/null ||
            fail "$name: threads $t"
        grep -q "$want" "$WORK/$name.t$t" ||
            fail "$name: threads $t: $(grep -o '"replay": "[^"]*"' \
                "$WORK/$name.t$t")"
        cmp -s <(body "$WORK/$name.plain") <(body "$WORK/$name.t$t") ||
            fail "$name: --threads $t differs from --plain"
    done
}
threads_plain nic40 "$WORK/nic40.zst" '4 ran as the back ends of 1 shared front' \
    "2 4" "${FIFO[@]}"
# ... and with lanes that move: 16 back ends of different costs (FIFO
# IOTLBs of 4 to 1,024 entries) over a 400k-record random stream (about
# 100 logs of 4,096 requests), on 2, 3 and 8 threads (more helpers than
# this machine's cores): threads take each other's lanes, and the front
# takes lanes when its ring of 16 logs is full (front_pool_pick); equal to
# --plain.  With the front refilling a slot once its own lanes are done,
# room or not, it failed 6 of 6 runs (the 100k-record stream of before
# caught it in none: the front seldom got a ring ahead).
"$IOSIM_TRACE" gen random --window 1M --size 64 --direction read \
    --count 400000 --page-size 4K --seed 2 --no-marks \
    -o "$WORK/lanes.zst" >/dev/null 2>&1 || fail "gen random lanes"
threads_plain lanes "$WORK/lanes.zst" '16 ran as the back ends of 1 shared front' \
    "2 3 8" --set vtd.iotlb.replacement=fifo \
    --sweep vtd.iotlb.sets=1,2,4,8,16,32,64,128 --sweep vtd.iotlb.ways=4,8
# ... and a trace cut short after the pool has logs in flight (100k
# one-page requests, the file cut at 90%: the reader fails after 65,536
# records, 16 logs of 4,096 published): the run fails as --plain does,
# exit 2, one line naming the file, no report.  The sim freed the front's
# list of back ends while the pool's helpers still ran them (a crash,
# exit 139, 4 of 4 runs before the fix; AddressSanitizer: use after free
# in front_pool_run).
"$IOSIM_TRACE" gen random --window 1M --size 64 --direction read \
    --count 100000 --page-size 4K --seed 1 --no-marks \
    -o "$WORK/cut-full.zst" >/dev/null 2>&1 || fail "gen random 100000"
head -c $(($(wc -c < "$WORK/cut-full.zst") * 9 / 10)) "$WORK/cut-full.zst" \
    > "$WORK/cut.zst"
for t in plain 2 4; do
    if [ $t = plain ]; then how=(--plain); else how=(--threads $t); fi
    "$IOSIM" --config "$C" --no-progress "${how[@]}" \
        --set vtd.iotlb.replacement=fifo --sweep vtd.iotlb.sets=1,4,16,64 \
        --sweep vtd.iotlb.ways=4,8 "$WORK/cut.zst" > "$WORK/cut.$t.out" \
        2> "$WORK/cut.$t.err"
    rc=$?
    [ $rc -eq 2 ] && [ ! -s "$WORK/cut.$t.out" ] &&
        [ "$(wc -l < "$WORK/cut.$t.err")" -eq 1 ] &&
        grep -q "cut.zst: truncated after 65536 records" "$WORK/cut.$t.err" ||
        fail "cut trace, $t: exit $rc, $(head -c 300 "$WORK/cut.$t.err")"
done
"$IOSIM" --config "$C" --no-progress --format json --threads 2 \
    "${FIFO[@]}" "$WORK/redis-strict.zst" > "$WORK/strict.t2" 2>/dev/null ||
    fail "threads 2 strict"
cmp -s <(body "$WORK/strict.shared") <(body "$WORK/strict.t2") ||
    fail "strict: --threads 2 differs from --threads 1"
# with threads the front hands its back ends a log of about 4,096
# requests at a time (an EV_ONE run's requests each counted), whatever the
# trace's length: the peak memory of 1M one-page requests stays within
# 14 MB of 100k's (the unflushed log of 1M would add 24 MB: 24 bytes a
# request; 2026-12-07, 14.1 and 21.3 MB).  Not under the sanitizers (their
# quarantine keeps freed memory).
if ! sanitized; then
    peak_kb() { python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@" ||
        echo 0; }
    for n in 100000 1000000; do
        "$IOSIM_TRACE" gen random --window 1M --size 64 --direction read \
            --count $n --page-size 4K --seed 1 --no-marks \
            -o "$WORK/long$n.zst" >/dev/null 2>&1 || fail "gen random $n"
    done
    LONG=(--config "$C" --no-progress --threads 2 --sweep vtd.iotlb.sets=1,4,16
        --sweep vtd.iotlb.ways=4)
    grep -q "2 ran as the back ends of 1 shared front" <("$IOSIM" \
        "${LONG[@]}" --format json "$WORK/long100000.zst" 2>/dev/null) ||
        fail "long: not a front of 2 back ends"
    short=$(peak_kb "$IOSIM" "${LONG[@]}" "$WORK/long100000.zst")
    long=$(peak_kb "$IOSIM" "${LONG[@]}" "$WORK/long1000000.zst")
    [ "$short" -gt 0 ] && [ "$long" -gt 0 ] &&
        [ "$long" -le $((short + 14 * 1024)) ] ||
        fail "long: peak memory ${short} KB (100k) -> ${long} KB (1M records)"
fi

# must not share: the invalidation queue's time is the front's (the CPU
# cost of each submission): one front per value
check iq "$WORK/redis-strict.zst" "4 ran as the back ends of 2 shared fronts" \
    --set vtd.iotlb.replacement=fifo --sweep vtd.iq_desc_ns=100,300 \
    --sweep vtd.iotlb.sets=1,16
# a mode other than bare metal: separate sims, and the line says why
"$IOSIM" --config "$SRC/configs/qemu-guest.yaml" --no-progress \
    "${FIFO[@]}" "$WORK/redis-strict-pcap-qemu.zst" > "$WORK/hv.txt" 2>&1 ||
    fail "hv run: $(head -n 1 "$WORK/hv.txt")"
grep -q "^# replay: .*no shared front: the hypervisor mode is not bare metal" \
    "$WORK/hv.txt" || fail "hv: $(grep '^# replay' "$WORK/hv.txt")"
grep -q "^# replay: .*back ends of" "$WORK/hv.txt" &&
    fail "hv: a shared front under an emulated vIOMMU"
finish
