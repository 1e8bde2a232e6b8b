#!/usr/bin/env bash
# import_realign.sh — iosim-trace import qemu on a real 2-vCPU e1000e
# capture whose two CPUs' descriptors the guest's trace lists in another
# order than QEMU processed them, and a real misalignment.
#
# Data (tests/data, see tests/unit/test_import.c test_qemu_e1000e_tie_cut):
# ftrace-mc-e1000e-guest-cut.txt and qemu-mc-e1000e-cut.log.zst, cut from
# `scripts/capture/run memcached strict --qemu-trace --nic e1000e
# --requests 300 --kernel 6.1.0-57-amd64`; the import before the reorder
# window stopped at QEMU line 1214 with "alignment lost".
# Expected counts come from grep on the raw lines, never from the program.
# Env: IOSIM_TRACE (program), SRC (source dir), WORK (scratch dir).
. "${SRC:?}/tests/cli/lib/common.sh"
G=$SRC/tests/data/ftrace-mc-e1000e-guest-cut.txt
Q=$SRC/tests/data/qemu-mc-e1000e-cut.log.zst
stat_of() { "$IOSIM_TRACE" stat "$1" | sed -n "s/^$2 = //p"; }

# ---------------------------------------------------------- it aligns
"$IOSIM_TRACE" import qemu "$Q" --guest "$G" -o "$WORK/cut.zst" \
    --workload memcached --policy strict > /dev/null 2> "$WORK/cut.err"
rc=$?
[ $rc = 0 ] || fail "import exited $rc: $(head -3 "$WORK/cut.err")"
if [ $rc = 0 ]; then
    want_inval=$(grep -c 'qi_submit: ' "$G")            # 100
    want_unmap=$(grep -c ' unmap: IOMMU: ' "$G")        # 52
    # QEMU's copies of the guest's first and last qi_submit are lines 52
    # and 1579 of the cut; every translation between them is kept
    want_dma=$(zstdcat "$Q" | sed -n 52,1579p | grep -c vtd_dmar_translate)
    [ "$(stat_of "$WORK/cut.zst" records.inval)" = "$want_inval" ] ||
        fail "INVAL $(stat_of "$WORK/cut.zst" records.inval), want $want_inval"
    [ "$(stat_of "$WORK/cut.zst" records.unmap)" = "$want_unmap" ] ||
        fail "UNMAP $(stat_of "$WORK/cut.zst" records.unmap), want $want_unmap"
    [ "$(stat_of "$WORK/cut.zst" records.dma)" = "$want_dma" ] ||
        fail "DMA $(stat_of "$WORK/cut.zst" records.dma), want $want_dma"
    # the summary says how many it re-ordered: one (0xfff46000 matched
    # past 17 same-timestamp descriptors of the other CPU)
    grep -q 'anchors (1 re-ordered' "$WORK/cut.err" ||
        fail "summary does not say 1 re-ordered: $(grep -o 'anchors ([^)]*)' "$WORK/cut.err")"
    # one trapped tail write per descriptor (Linux 6.1 does not batch)
    [ "$(stat_of "$WORK/cut.zst" meta.ref.hv.vmexits)" = "$want_inval" ] ||
        fail "ref.hv.vmexits $(stat_of "$WORK/cut.zst" meta.ref.hv.vmexits), want $want_inval"
    # the written descriptors follow QEMU's order: 0xfff46000 twice in a
    # row (QEMU lines 1205, 1214), the guest lists them 35 lines apart
    "$IOSIM_TRACE" to-text "$WORK/cut.zst" | grep -i 'inval' |
        grep -A1 -i 'fff46000' | sed -n 2p | grep -qi 'fff46000' ||
        fail "0xfff46000 not twice in a row in the written descriptors"
fi

# ------------------------------ a descriptor the guest never traced
# inserted after QEMU line 1400 (past the sync's first 64): the error names
# the QEMU line (1401) and
# the guest line of the first descriptor still waiting, exit 2, one line
zstdcat "$Q" | sed '1400a vtd_inv_desc invalidate desc type iotlb high 0xdead000 low 0x600f2' \
    > "$WORK/bad.log"
"$IOSIM_TRACE" import qemu "$WORK/bad.log" --guest "$G" -o "$WORK/bad.zst" \
    > /dev/null 2> "$WORK/bad.err"
rc=$?
[ $rc = 2 ] || fail "misaligned import exited $rc, expected 2"
[ "$(wc -l < "$WORK/bad.err")" = 1 ] || fail "misaligned import: not one line: $(cat "$WORK/bad.err")"
grep -q "bad.log:1401: descriptor qw0=0x600f2 addr=0xdead000 " "$WORK/bad.err" ||
    fail "no QEMU position in: $(cat "$WORK/bad.err")"
# QEMU lines 52..1400 hold the QEMU copies of the guest's first n
# qi_submit (the re-ordered run of 17 ends before line 1400), so the
# guest's first waiting descriptor is its (n+1)-th qi_submit
n=$(zstdcat "$Q" | sed -n 52,1400p | grep 'vtd_inv_desc invalidate' | grep -vc 'type wait')
read -r gline next < <(grep -n 'qi_submit: ' "$G" | sed -n "$((n + 1))p" |
                       sed 's/^\([0-9]*\):.* 0x600f2 \(0x[0-9a-f]*\) .*/\1 \2/')
grep -q "from $G:$gline (qw0=0x600f2 addr=$next)" "$WORK/bad.err" ||
    fail "no guest position $G:$gline ($next) in: $(cat "$WORK/bad.err")"
[ -e "$WORK/bad.zst" ] && fail "a failed import left $WORK/bad.zst"

finish
