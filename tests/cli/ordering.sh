#!/usr/bin/env bash
# Ordering checks on the shipped real Redis capture:
#  1. bare metal: throughput passthrough >= lazy >= strict (protection
#     costs CPU time: strict invalidates per unmap, lazy per flush, pt never);
#  2. an emulated vIOMMU (trap-and-emulate, caching mode) is far below
#     bare-metal strict, in the proportion of the per-operation costs of
#     FIGURES.md §2: a strict (un)map pair costs 6,909 cycles on bare metal
#     and 34,969 under trap-and-emulate (Amit et al., ATC'11), ratio 5.06.
#     The device here has no ATS, as in that measurement.  Tolerance: the
#     simulated ratio of IOMMU CPU cycles per map+unmap pair within +-50%
#     of 5.06.  NOTE: hv.qemu_desc_cycles and hv.shadow_page_cycles were
#     derived from these same two numbers (sim/config/params_hv.c), so this
#     is a consistency check of the cost plumbing, not an independent
#     validation.
. "${SRC:?}/tests/cli/lib/common.sh"
T=$SRC/traces/redis-strict.zst
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

"$IOSIM" --config "$SRC/configs/vtd.yaml" --compare passthrough,lazy,strict \
    --format csv --no-progress "$T" > "$WORK/bare.csv" || fail "bare-metal run failed"
pt=$(csv_value "$WORK/bare.csv" summary passthrough throughput_rps)
lz=$(csv_value "$WORK/bare.csv" summary lazy throughput_rps)
st=$(csv_value "$WORK/bare.csv" summary strict throughput_rps)
echo "bare metal throughput (req/s): passthrough $pt lazy $lz strict $st"
ge "$pt" "$lz" || fail "passthrough < lazy"
ge "$lz" "$st" || fail "lazy < strict"
awk -v a="$lz" -v b="$st" 'BEGIN { exit !(a > b) }' || fail "lazy not faster than strict"

"$IOSIM" --config "$SRC/configs/vtd.yaml" --set vtd.ats=false --set os.policy=strict \
    --format csv --no-progress "$T" > "$WORK/strict-bare.csv" || fail "strict bare failed"
"$IOSIM" --config "$SRC/configs/qemu-guest.yaml" --set vtd.ats=false --set os.policy=strict \
    --format csv --no-progress "$T" > "$WORK/strict-emu.csv" || fail "strict emulated failed"
cb=$(csv_value "$WORK/strict-bare.csv" stat strict cpu.iommu_cycles)
mb=$(csv_value "$WORK/strict-bare.csv" stat strict os.maps)
ce=$(csv_value "$WORK/strict-emu.csv" stat strict cpu.iommu_cycles)
me=$(csv_value "$WORK/strict-emu.csv" stat strict os.maps)
ratio=$(awk -v cb="$cb" -v mb="$mb" -v ce="$ce" -v me="$me" 'BEGIN { printf "%.3f", (ce/me)/(cb/mb) }')
echo "cycles per map+unmap pair: bare $(awk -v c="$cb" -v m="$mb" 'BEGIN{printf "%.0f", c/m}')" \
     "emulated $(awk -v c="$ce" -v m="$me" 'BEGIN{printf "%.0f", c/m}') ratio $ratio (published 5.06)"
awk -v r="$ratio" 'BEGIN { exit !(r >= 5.06 * 0.5 && r <= 5.06 * 1.5) }' || fail "ratio $ratio outside 5.06 +-50%"
te=$(csv_value "$WORK/strict-emu.csv" summary strict throughput_rps)
tb=$(csv_value "$WORK/strict-bare.csv" summary strict throughput_rps)
echo "strict throughput: bare $tb, emulated vIOMMU $te"
awk -v a="$te" -v b="$tb" 'BEGIN { exit !(a < 0.5 * b) }' || fail "emulated strict not far below bare metal"

# 3. Every hypervisor mode in one --compare, from a nested-mode config: a
#    POLICY@MODE item brings the mode's settings (hv.h implies: emulated
#    needs caching mode, bare metal drops it, a non-nested mode translates
#    with one stage).  Every DMA the access model issues targets a buffer
#    that is mapped at that moment, so no sim may see a fault; the emulated
#    vIOMMU must again be far below bare-metal strict; a guest-passthrough
#    guest (iommu=pt, dma-direct) spends no CPU cycle on the IOMMU.
"$IOSIM" --config "$SRC/configs/nested-guest.yaml" \
    --compare strict,strict@emulated,strict@none,passthrough@guest-passthrough \
    --format csv --no-progress "$T" > "$WORK/modes.csv" || fail "hv-mode compare failed"
# the modes without a host stage fall back to one stage, and say so
one=" (second-stage: no host stage)"
for item in strict "strict@emulated$one" "strict@none$one" "passthrough@guest-passthrough$one"; do
    f=$(csv_value "$WORK/modes.csv" stat "$item" dma.faults)
    [ "$f" = 0 ] || fail "$item: '$f' DMA faults, want 0"
done
c=$(csv_value "$WORK/modes.csv" summary "passthrough@guest-passthrough$one" iommu_cycles)
awk -v c="$c" 'BEGIN { exit !(c == 0) }' || fail "guest-passthrough: $c IOMMU cycles, want 0"
te=$(csv_value "$WORK/modes.csv" summary "strict@emulated$one" throughput_rps)
tb=$(csv_value "$WORK/modes.csv" summary "strict@none$one" throughput_rps)
echo "nested config, strict throughput: bare $tb, emulated vIOMMU $te"
awk -v a="$te" -v b="$tb" 'BEGIN { exit !(a < 0.5 * b) }' || fail "@emulated not far below @none"
finish
