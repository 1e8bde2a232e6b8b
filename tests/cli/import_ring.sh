#!/usr/bin/env bash
# import_ring.sh — `iosim-trace import` records a virtio NIC's ring format
# in the trace's metadata (implies.dev.virtio-net.ring, issue 20): from
# --virtio-ring, else from the capture's meta.tsv next to the input
# (scripts/capture/run: the nic column's packed=on, or the virtio_features
# column's bit 34 = VIRTIO_F_RING_PACKED, include/uapi/linux/
# virtio_config.h), else nothing (a split ring, the default).  The guest
# trace is a small ftrace file of the repository; only the folder's
# meta.tsv changes between the cases.  Also the virtio-net queue sizes
# (implies.dev.virtio-net.rx_queue_size, tx_queue_size) from meta.tsv's
# ring_sizes column or the nic column's QEMU properties (run --queue-size).
. "${SRC:?}/tests/cli/lib/common.sh"
GUEST=$SRC/tests/data/ftrace-redis-strict.txt
# meta.tsv with the columns run writes (header and row), nic and features
# given
meta() { # DIR NIC FEATURES
    mkdir -p "$1"
    cp "$GUEST" "$1/trace.txt"
    printf 'capture\tnic\tnet\tvirtio_features\n' > "$1/meta.tsv"
    printf 'x\t%s\tuser\t%s\n' "$2" "$3" >> "$1/meta.tsv"
}
# the ring the trace's metadata implies ("" = none)
ring_of() { # DIR [import options...]
    local d=$1
    shift
    "$IOSIM_TRACE" import ftrace "$d/trace.txt" -o "$d/t.zst" "$@" 2> /dev/null ||
        { fail "import of $d failed"; return; }
    "$IOSIM_TRACE" to-text "$d/t.zst" |
        sed -n 's/^#meta implies\.dev\.virtio-net\.ring=//p'
}
# bit 34 set: 34 zeros, a one, 29 zeros (features_show: bit 0 first)
bits34=$(printf '%034d1%029d' 0 0)
bits0=$(printf '%064d' 0)
meta "$WORK/nic" "virtio-net-pci,iommu_platform=on,ats=on,packed=on" -
meta "$WORK/feat" "virtio-net-pci,iommu_platform=on,ats=on" "$bits34"
meta "$WORK/split" "virtio-net-pci,iommu_platform=on,ats=on" "$bits0"
meta "$WORK/old" "virtio-net-pci,iommu_platform=on,ats=on" -
[ "$(ring_of "$WORK/nic")" = packed ] || fail "nic packed=on: not recorded packed"
[ "$(ring_of "$WORK/feat")" = packed ] || fail "virtio_features bit 34: not recorded packed"
[ -z "$(ring_of "$WORK/split")" ] || fail "split capture: a ring recorded"
[ -z "$(ring_of "$WORK/old")" ] || fail "capture without the bits: a ring recorded"
# the option wins over the folder, either way
[ "$(ring_of "$WORK/nic" --virtio-ring split)" = split ] || fail "--virtio-ring split not recorded"
[ "$(ring_of "$WORK/split" --virtio-ring packed)" = packed ] || fail "--virtio-ring packed not recorded"
# The queue sizes (implies.dev.virtio-net.rx_queue_size / tx_queue_size):
# the ring_sizes column (the guest's ethtool -g, run's init.sh), else the
# nic column's QEMU properties; none for a NIC that is not virtio-net or a
# capture that records neither.
sizes_of() { # DIR
    "$IOSIM_TRACE" import ftrace "$1/trace.txt" -o "$1/t.zst" 2> /dev/null ||
        { fail "import of $1 failed"; return; }
    "$IOSIM_TRACE" to-text "$1/t.zst" |
        sed -n 's/^#meta implies\.dev\.virtio-net\.\([rt]x\)_queue_size=/\1=/p' | tr '\n' ' '
}
meta2() { # DIR NIC RING_SIZES
    mkdir -p "$1"
    cp "$GUEST" "$1/trace.txt"
    printf 'capture\tnic\tnet\tvirtio_features\tring_sizes\n' > "$1/meta.tsv"
    printf 'x\t%s\tuser\t-\t%s\n' "$2" "$3" >> "$1/meta.tsv"
}
meta2 "$WORK/q1" "virtio-net-pci,iommu_platform=on,ats=on,rx_queue_size=1024" "rx=1024,tx=256"
meta2 "$WORK/q2" "virtio-net-pci,iommu_platform=on,ats=on,rx_queue_size=512,tx_queue_size=512" -
meta2 "$WORK/q3" "e1000e" "rx=256,tx=256"
[ "$(sizes_of "$WORK/q1")" = "rx=1024 tx=256 " ] || fail "ring_sizes rx=1024,tx=256: '$(sizes_of "$WORK/q1")'"
[ "$(sizes_of "$WORK/q2")" = "rx=512 tx=512 " ] || fail "nic rx/tx_queue_size=512: '$(sizes_of "$WORK/q2")'"
[ -z "$(sizes_of "$WORK/q3")" ] || fail "e1000e: virtio-net queue sizes recorded"
[ -z "$(sizes_of "$WORK/split")" ] || fail "capture without sizes: queue sizes recorded"
# a bad value: one line, exit 2
"$IOSIM_TRACE" import ftrace "$GUEST" -o "$WORK/bad.zst" --virtio-ring ring 2> "$WORK/err"
rc=$?
[ $rc -eq 2 ] && [ ! -e "$WORK/bad.zst" ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] &&
    grep -q -- "--virtio-ring 'ring': split or packed" "$WORK/err" ||
    fail "--virtio-ring ring: exit $rc, $(cat "$WORK/err")"
finish
