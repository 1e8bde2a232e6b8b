#!/usr/bin/env bash
# dev_ground_truth.sh — device models against real device accesses (issue
# 20): every shipped QEMU-merged capture carries QEMU's own record of each
# translation its emulated NIC made.  scripts/dev-check removes those DMA
# records, replays the guest's maps through the matching device model, and
# compares with the replay of the real accesses under the same config:
# IOTLB lookups within 10% and misses within 5% at fully associative LRU
# IOTLBs of 4, 8, 16, 64 and 1,024 entries.
#
# Known misses (KNOWN below, NAME:ENTRIES[:BOUND], held to BOUND, default
# 25%, so that a regression still fails), two causes, told apart by moving
# each real rx buffer access to just before the guest's unmap of that
# buffer (scripts/rx-at-unmap: the model's rule; nothing else changed) and
# replaying again:
#  - user networking (the captures without -tap): with QEMU's libslirp a
#    guest TCP segment that acks nothing new is ACKed inside
#    virtio_net_flush_tx (libslirp tcp_input header prediction,
#    TF_ACKNOW), so QEMU fills an rx buffer between a tx packet's pop and
#    its push.  Which tx packets those are depends on TCP state per
#    connection, which maps and unmaps do not show; the model emits rx at
#    the guest's rx unmap, so a 4-entry IOTLB sees fewer alternations
#    between the rx and tx rings than QEMU did.  Real misses with the rx
#    buffers moved, against the model's: redis 4 entries 19197 -> 18638
#    (model 17154), nginx 10183 -> 9898 (7800): still far, slirp's.  The
#    same loads over a tap device (-tap-nooffload: the host's stack as the
#    peer, the guest's virtio features as under slirp) meet 5% at 4
#    entries (redis -3.7%, nginx +0.8%, memcached -3.6%, Linux 6.12
#    -0.4%, QEMU 10 +1.5%).
#  - rx bursts (8 entries): QEMU writes several rx packets (ring fields and
#    buffer) before the guest's NAPI poll detaches and unmaps the first,
#    so in QEMU those buffers stay in the IOTLB together and evict a ring
#    page; the model emits each rx packet just before its unmap, where the
#    buffer's invalidation follows at once.  Moving each real rx buffer
#    access to just before its unmap (nothing else changed) brings the
#    real 8-entry misses to within 1.5% of the model's on every such row:
#    redis tap 2567 -> 2403 (model 2424), nginx tap 5864 -> 5531 (5512),
#    Linux 6.12 tap 2668 -> 2482 (2501), QEMU 10 tap 1607 -> 1498 (1520),
#    QEMU 10 slirp 1787 -> 1673 (1683);
#    it is also most of two slirp rows at 4 entries: memcached 4650 ->
#    4459 (4368), Linux 6.12 4764 -> 4709 (4521).  Where the device wrote
#    a burst is not in the guest's maps and unmaps (it depends on when the
#    packets arrived and when the vCPU polled).
set -u
: "${IOSIM:?}" "${IOSIM_TRACE:?}" "${SRC:?}" "${WORK:?}"
mkdir -p "$WORK"
fails=0
KNOWN="redis-strict-qemu:4 nginx-strict-qemu:4 memcached-strict-qemu:4 redis-strict-q10-qemu:8:0.10
       redis-strict-612-qemu:4 redis-strict-tap-nooffload-qemu:8:0.10
       nginx-strict-tap-nooffload-qemu:8:0.10 redis-strict-q10-tap-nooffload-qemu:8:0.10
       redis-strict-612-tap-nooffload-qemu:8:0.10"
run() { # dev-check args... -> rows appended to $WORK/rows (its exit
         # status says only whether the 25% bound held: checked below)
    IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" \
        --misses-tol 0.25 "$@" > "$WORK/one" 2> "$WORK/err"
    [ $? -le 1 ] || { echo "FAIL: dev-check $*: $(cat "$WORK/err")"; fails=$((fails + 1)); }
    cat "$WORK/one" >> "$WORK/rows"
    cat "$WORK/one"
}
: > "$WORK/rows"
run e1000e "$SRC/traces/redis-strict-e1000e-qemu.zst"
# QEMU 7.2 captures (the model's defaults), guests on Linux 6.1 and 6.12
run virtio-net "$SRC/traces/redis-strict-qemu.zst" "$SRC/traces/nginx-strict-qemu.zst" \
    "$SRC/traces/memcached-strict-qemu.zst" "$SRC/traces/redis-lazy-qemu.zst" \
    "$SRC/traces/redis-strict-sm-qemu.zst" \
    "$SRC/traces/redis-strict-612-qemu.zst" "$SRC/traces/redis-lazy-612-qemu.zst" \
    "$SRC/traces/redis-strict-tap-nooffload-qemu.zst" \
    "$SRC/traces/nginx-strict-tap-nooffload-qemu.zst" \
    "$SRC/traces/memcached-strict-tap-nooffload-qemu.zst" \
    "$SRC/traces/redis-strict-612-tap-nooffload-qemu.zst"
# QEMU 10.0 captures: virtqueue_num_heads uses the shadow index (>= 8.2)
run --set dev.virtio-net.shadow_heads=true virtio-net \
    "$SRC/traces/redis-strict-q10-qemu.zst" "$SRC/traces/redis-strict-fs-qemu.zst" \
    "$SRC/traces/redis-lazy-fs-qemu.zst" "$SRC/traces/redis-strict-q10-tap-nooffload-qemu.zst"
# every row: lookups within 10%, misses within 5% unless KNOWN (then its bound)
n=$(awk -v known="$KNOWN" '
    BEGIN { n = split(known, k, /[[:space:]]+/)
            for (i = 1; i <= n; i++) { if (k[i] == "") continue
                                       m = split(k[i], f, ":")
                                       kn[f[1] ":" f[2]] = m > 2 ? f[3] : 0.25 } }
    $1 == "trace" { next }
    { rows++; el = $5 + 0; em = $8 + 0; key = $1 ":" $2
      sub(/  FAIL$/, "")
      if (el > 0.10 || el < -0.10) { print "FAIL: " key " lookups " $5; bad++ }
      lim = (key in kn) ? kn[key] : 0.05
      if (em > lim || em < -lim) { print "FAIL: " key " misses " $8; bad++ }
      else if ((key in kn) && em <= 0.05 && em >= -0.05) print "note: " key " now within 5%" }
    END { print "rows " rows; exit bad > 0 }' "$WORK/rows")
rc=$?
echo "$n"
[ $rc -eq 0 ] || fails=$((fails + 1))
echo "$n" | grep -qx 'rows 80' || { echo "FAIL: expected 80 rows"; fails=$((fails + 1)); }
# The rx-burst reason, checked: with each real rx buffer access moved to
# just before the guest's unmap of it (scripts/rx-at-unmap: the model's
# rule, nothing else changed) the real 8-entry misses of those rows come
# within 2% of the model's, where unmoved they are more than 5% apart.
RINGS="0xffffe000 0xfffff000 0xffffc000 0xffffd000" # virtio-net rings (model defaults)
for t in redis-strict-tap-nooffload-qemu nginx-strict-tap-nooffload-qemu \
         redis-strict-612-tap-nooffload-qemu redis-strict-q10-tap-nooffload-qemu \
         redis-strict-q10-qemu; do
    set -- $(awk -v t="$t" '$1 == t && $2 == 8 { print $6, $7 }' "$WORK/rows")
    "$IOSIM_TRACE" to-text "$SRC/traces/$t.zst" |
        bash "$SRC/scripts/rx-at-unmap" $RINGS > "$WORK/moved.txt" 2> /dev/null
    moved=$("$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace \
                --set sim.window_only=false --set vtd.iotlb.sets=1 --set vtd.iotlb.ways=8 \
                --set vtd.iotlb.replacement=lru --no-progress --format csv "$WORK/moved.txt" |
            awk -F, '$1 == "stat" && $3 == "iotlb.misses" { print $4 }')
    echo "$t at 8 entries: real misses $1, rx moved to the unmap $moved, model $2"
    awk -v r="$1" -v mv="$moved" -v m="$2" 'BEGIN {
        e = (m - mv) / mv; u = (m - r) / r
        exit !(r > 0 && mv > 0 && e <= 0.02 && e >= -0.02 && (u > 0.05 || u < -0.05)) }' ||
        { echo "FAIL: $t: rx bursts do not explain the 8-entry misses"; fails=$((fails + 1)); }
done
# the check can fail: touch, the rule before device models, is far off
if IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" touch \
       "$SRC/traces/redis-strict-e1000e-qemu.zst" > /dev/null; then
    echo "FAIL: dev-check passes touch, which makes a quarter of the lookups"
    fails=$((fails + 1))
fi
exit $((fails > 0))
