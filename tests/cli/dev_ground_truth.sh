#!/usr/bin/env bash
# dev_ground_truth.sh — device models against real device accesses (issue
# 20): every shipped QEMU-merged capture carries QEMU's own record of each
# translation its emulated NIC made.  scripts/dev-check removes those DMA
# records, replays the guest's maps through the matching device model, and
# compares with the replay of the real accesses under the same config:
# IOTLB lookups within 10% and misses within 5% at fully associative LRU
# IOTLBs of 4, 8, 16, 64 and 1,024 entries.
#
# Known misses (KNOWN below, each with its reason, held to 25% so that a
# regression still fails): with QEMU's user networking (slirp) a guest TCP
# segment that acks nothing new is ACKed inside virtio_net_flush_tx
# (libslirp tcp_input header prediction, TF_ACKNOW), so QEMU fills an rx
# buffer between a tx packet's pop and its push.  Which tx packets those
# are depends on TCP state per connection, which maps and unmaps do not
# show; the model emits rx at the guest's rx unmap, so a 4-entry IOTLB
# sees fewer alternations between the rx and tx rings than QEMU did.
set -u
: "${IOSIM:?}" "${IOSIM_TRACE:?}" "${SRC:?}" "${WORK:?}"
mkdir -p "$WORK"
fails=0
KNOWN="redis-strict-qemu:4 nginx-strict-qemu:4 memcached-strict-qemu:4 redis-strict-q10-qemu:8 redis-strict-612-qemu:4"
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
    "$SRC/traces/redis-strict-612-qemu.zst" "$SRC/traces/redis-lazy-612-qemu.zst"
# QEMU 10.0 captures: virtqueue_num_heads uses the shadow index (>= 8.2)
run --set dev.virtio-net.shadow_heads=true virtio-net \
    "$SRC/traces/redis-strict-q10-qemu.zst" "$SRC/traces/redis-strict-fs-qemu.zst" \
    "$SRC/traces/redis-lazy-fs-qemu.zst"
# every row: lookups within 10%, misses within 5% unless KNOWN (then 25%)
n=$(awk -v known="$KNOWN" '
    BEGIN { split(known, k, " "); for (i in k) kn[k[i]] = 1 }
    $1 == "trace" { next }
    { rows++; el = $5 + 0; em = $8 + 0; key = $1 ":" $2
      sub(/  FAIL$/, "")
      if (el > 0.10 || el < -0.10) { print "FAIL: " key " lookups " $5; bad++ }
      lim = (key in kn) ? 0.25 : 0.05
      if (em > lim || em < -lim) { print "FAIL: " key " misses " $8; bad++ }
      else if ((key in kn) && em <= 0.05 && em >= -0.05) print "note: " key " now within 5%" }
    END { print "rows " rows; exit bad > 0 }' "$WORK/rows")
rc=$?
echo "$n"
[ $rc -eq 0 ] || fails=$((fails + 1))
echo "$n" | grep -qx 'rows 55' || { echo "FAIL: expected 55 rows"; fails=$((fails + 1)); }
# the check can fail: touch, the rule before device models, is far off
if IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" touch \
       "$SRC/traces/redis-strict-e1000e-qemu.zst" > /dev/null; then
    echo "FAIL: dev-check passes touch, which makes a quarter of the lookups"
    fails=$((fails + 1))
fi
exit $((fails > 0))
