#!/bin/sh
# /init of the capture guest (copied into the initramfs by build-initramfs).
#
# Concepts: the guest boots into this script, brings up the NIC behind the
#   emulated VT-d, arms ftrace with the IOMMU events, starts one server, and
#   waits for the host: a connection to the control port starts the
#   measured window (BENCH_START in trace_marker), a second one ends it
#   (BENCH_END). It then dumps the trace, ring stats, dmesg and IOMMU
#   information as a tar written raw onto /dev/vda and powers off.
# Assumptions: busybox is installed at /bin/busybox with its applets linked;
#   kernel modules are in /modules; the kernel command line carries
#   srv=redis|memcached|nginx (the kernel passes unknown name=value words to
#   init as environment variables; /proc/cmdline is parsed as a fallback),
#   and with run --trace-dat tdat=full|small (trace-cmd is then in the
#   initramfs: the buffers are also written as trace.dat, see below).
#   With run's tap networking also gip=ADDR/LEN ggw=GATEWAY (eth0's static
#   address on the host tap's subnet); without them eth0 gets the address
#   QEMU's user networking expects, 10.0.2.15/24 via 10.0.2.2.
#   /dev/vda is a virtio-blk disk WITHOUT iommu_platform, so the dump makes
#   no DMA API calls and adds no IOMMU events.
# Not modeled: anything but the NIC path; no persistence, no rootfs switch.
# Every line the host waits for on the serial console starts with "IOSIM:".

CTL_PORT=7777          # guest side of the control forward (host picks its own)
BUF_KB=65536           # per-CPU ring size; 2 CPUs -> 128 MiB of guest RAM
T=/sys/kernel/tracing
OUT=/out

say() { echo "IOSIM: $*" > /dev/console; }

/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/log
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
mount -t tracefs tracefs $T
say "init up"

if [ -z "$srv" ]; then
    for w in $(cat /proc/cmdline); do
        case "$w" in srv=*) srv=${w#srv=} ;; tdat=*) tdat=${w#tdat=} ;;
                     gip=*) gip=${w#gip=} ;; ggw=*) ggw=${w#ggw=} ;; esac
    done
fi
: "${gip:=10.0.2.15/24}" "${ggw:=10.0.2.2}"

# Drivers in dependency order (modinfo -F depends on the host); those
# built into the kernel are listed in /modules/builtin and not loaded.
for m in $(cat /modules/order); do
    insmod /modules/$m.ko || say "insmod $m failed"
done

ip link set lo up
ip link set eth0 up
ip addr add $gip dev eth0
ip route add default via $ggw
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done

# Arm tracing, but record nothing until the server is up.
echo 0 > $T/tracing_on
echo $BUF_KB > $T/buffer_size_kb
echo global > $T/trace_clock
: > $T/set_event
for e in iommu:map iommu:unmap iommu:io_page_fault intel_iommu:qi_submit; do
    echo $e >> $T/set_event || say "cannot enable $e"
done
# The DMA API's own events (dma:*, Linux >= 6.12; absent in 6.1): each
# dma_map_page / dma_unmap_page of a translated device follows its
# iommu:map / iommu:unmap and names the device and the direction (the
# importer keeps the iommu events and skips these as duplicates).  Not
# under iommu=pt: there they are dma-direct mappings with no IOVA at all,
# and the trace must show, as on 6.1, that no IOMMU work happened.
if [ -d $T/events/dma ] && ! grep -q 'iommu=pt' /proc/cmdline; then
    echo 'dma:*' >> $T/set_event || say "cannot enable dma:*"
fi
echo > $T/trace

case "$srv" in
redis)
    PORT=6379
    /usr/bin/redis-server --port $PORT --bind 0.0.0.0 --protected-mode no \
        --save '' --appendonly no --daemonize no > /tmp/server.log 2>&1 &
    ;;
memcached)
    PORT=11211
    /usr/bin/memcached -u root -p $PORT -U 0 -l 0.0.0.0 -m 64 -t 2 \
        > /tmp/server.log 2>&1 &
    ;;
nginx)
    PORT=80
    /usr/sbin/nginx -c /etc/nginx/nginx.conf > /tmp/server.log 2>&1 &
    ;;
*)
    say "unknown srv=$srv"; poweroff -f ;;
esac

# Wait until the server listens (netstat shows ":PORT " in LISTEN).
i=0
while ! netstat -ltn | grep -q ":$PORT "; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 300 ]; then say "server $srv did not listen"; cat /tmp/server.log > /dev/console; break; fi
done

echo 1 > $T/tracing_on
say "READY srv=$srv port=$PORT"

nc -l -p $CTL_PORT < /dev/null > /tmp/ctl-start
echo BENCH_START > $T/trace_marker
say "BENCH_START"
nc -l -p $CTL_PORT < /dev/null > /tmp/ctl-stop
echo BENCH_END > $T/trace_marker
echo 0 > $T/tracing_on
say "BENCH_END"

mkdir -p $OUT
for c in $T/per_cpu/cpu*; do
    echo "== $c"; cat $c/stats
done > $OUT/ring-stats.txt
cat $T/available_events | grep -E '^(iommu|intel_iommu|dma):' > $OUT/available_events.txt
# The format of every event the importer reads (fields and print format
# change between kernels: checked against sim/trace/import_ftrace.c).
for f in $T/events/iommu/*/format $T/events/intel_iommu/*/format \
         $T/events/dma/*/format $T/events/ftrace/print/format; do
    [ -f "$f" ] || continue
    echo "== ${f#$T/events/}"; cat "$f"
done > $OUT/event-formats.txt
echo "built in: $(cat /modules/builtin 2>/dev/null | tr '\n' ' ')" > $OUT/modules.txt
echo "loaded: $(cat /modules/order | tr '\n' ' ')" >> $OUT/modules.txt
cat /proc/net/snmp > $OUT/net-snmp.txt
# Every virtio device's negotiated feature bits (drivers/virtio/virtio.c
# features_show: one '0'/'1' per bit, bit 0 first) and device id (0x0001 =
# net): bit 34 VIRTIO_F_RING_PACKED, 29 VIRTIO_RING_F_EVENT_IDX, 28
# VIRTIO_RING_F_INDIRECT_DESC (include/uapi/linux/virtio_config.h,
# virtio_ring.h), so a capture records the ring format its guest used.
for d in /sys/bus/virtio/devices/*; do
    [ -f "$d/features" ] || continue
    echo "${d##*/} device=$(cat "$d/device") features=$(cat "$d/features")"
done > $OUT/virtio-features.txt
# The NIC's ring sizes as the driver uses them (ethtool -g: virtio_net
# virtnet_get_ringparam reports virtqueue_get_vring_size of rx/tx queue 0,
# the size the device offered and setup_vq took; e1000e its descriptor
# counts), when build-initramfs found ethtool on the host.
if [ -x /usr/sbin/ethtool ]; then
    /usr/sbin/ethtool -g eth0 > $OUT/ring-params.txt 2>&1 || say "ethtool -g eth0 failed"
fi
cat /tmp/server.log > $OUT/server.log
{
    echo "cmdline: $(cat /proc/cmdline)"
    for g in /sys/kernel/iommu_groups/*; do
        echo "group ${g##*/} type=$(cat $g/type 2>/dev/null) devs=$(ls $g/devices | tr '\n' ' ')"
    done
    dmesg | grep -E 'DMAR|iommu|IOMMU|Command line'
} > $OUT/iommu-info.txt
cat $T/trace > $OUT/trace.txt
# tdat: the same events in trace-cmd's binary format.  Reading `trace`
# above leaves the ring buffers as they were; trace-cmd extract then reads
# (and consumes) them through per_cpu/cpu*/trace_pipe_raw, so trace.txt and
# trace.dat hold one capture.  It saves the format of every event, the
# saved cmdlines and /proc/kallsyms (print events name their caller by
# address).  tdat=small hides all of kallsyms but tracing_mark_write, the
# one symbol those print events need, and the symbol after it (which ends
# it for libtraceevent's lookup): ~6 MB less, for test data.
case "$tdat" in
full|small)
    echo 0 > /proc/sys/kernel/kptr_restrict
    if [ "$tdat" = small ]; then
        awk 'f { print; exit } $3 == "tracing_mark_write" { print; f = 1 }' \
            /proc/kallsyms > /tmp/kallsyms.small
        mount --bind /tmp/kallsyms.small /proc/kallsyms || say "cannot hide kallsyms"
    fi
    trace-cmd extract --compression zstd -o $OUT/trace.dat > $OUT/trace-cmd.log 2>&1 ||
        say "trace-cmd extract failed: $(tail -n 3 $OUT/trace-cmd.log)"
    ;;
esac
dmesg > $OUT/dmesg.txt
say "dumped $(wc -c < $OUT/trace.txt) trace bytes"
tar -cf /dev/vda -C $OUT . && sync
say "DONE"
poweroff -f
