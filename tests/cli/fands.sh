#!/bin/bash
# fands.sh — the F&S (Rubin et al., SOSP'24) mechanisms on traces
# small enough to count by hand, against values derived from the VT-d
# rules and the F&S throughput model, not from iosim's output.
#   1. T = p / (l0 + M lm): M = 1.76 -> 79.6 Gb/s, M = 4.36 -> 35.5 Gb/s
#      (FIGURES.md §1), computed with awk from the config's l0/lm.
#   2. One cold walk under configs/fands-cascadelake.yaml reads root +
#      context + 4 levels = 6 entries (MODEL.md §3.3), so its device time
#      is l0 + 6 lm; a second access to the page hits the IOTLB: l0.
#   2b. The translation and link stages overlap: the slower one sets the
#      device time.
#   3. Strict v6.0 (IH=0) drops the PTcaches on unmap: after unmapping A,
#      a walk for B in the same 2 MB region misses L1, L2 and L3 again
#      (4 reads); with IH=1 (os.pass_ih=true) it misses none (1 read).
. "${SRC:?}/tests/cli/lib/common.sh"
set -e
CFG="$SRC/configs/fands-cascadelake.yaml"
stat() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# 1. the model formula, from the config's own l0 and lm
l0=$(awk '$1 == "dma_base_ns:" { print $2 }' "$CFG")
lm=$(awk '$1 == "mem_ns:" { print $2 }' "$CFG")
[ "$l0" = 65 ] && [ "$lm" = 197 ] || fail "config l0/lm $l0/$lm, F&S 65/197"
for pair in "1.76 79.6" "4.36 35.5"; do
    set -- $pair
    awk -v M="$1" -v T="$2" -v l0="$l0" -v lm="$lm" 'BEGIN {
        t = 4096 * 8 / (l0 + M * lm); d = t - T; if (d < 0) d = -d
        exit !(d < 0.1) }' || fail "T(M=$1) is not $2 Gb/s"
done

# 2 + 3. hand-made traces
hdr='# iosim-trace text v1
#meta source=text
#meta time_unit=ns
#meta has_dma=1'
A=0xfff00000; B=0xfff01000
cat > "$WORK/walk.txt" <<EOT
$hdr
MAP t=0 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=$A size=4096 phys=0x200000000 prot=rw
DMA t=10 dev=01:00.0 pasid=0 iova=$A size=4096 dir=write
DMA t=20 dev=01:00.0 pasid=0 iova=$A size=4096 dir=write
EOT
"$IOSIM" --config "$CFG" --set vtd.link_gbps=1000000 --no-progress "$WORK/walk.txt" > "$WORK/walk.out"
[ "$(stat walk.mem_reads "$WORK/walk.out")" = 6 ] || fail "cold walk: $(stat walk.mem_reads "$WORK/walk.out") reads, want 6"
want=$((l0 + 6 * lm + l0))
[ "$(stat dma.device_time_ns "$WORK/walk.out")" = "$want" ] ||
    fail "device time $(stat dma.device_time_ns "$WORK/walk.out"), want $want"

# 2b. Device time is a two-stage pipeline (sim/vtd/dma_pipe.h): translation
#     l0 + walk per request in series, link bytes*8/link_gbps, the slower
#     stage wins.  One cold walk + 9 hits of 4 KB at 100 Gb/s: translation
#     (l0 + 6 lm) + 9 l0 = 1832 ns; link 10 x 327.68 ns, each rounded to
#     328 = 3280 ns, so the link sets the time.
{ echo "$hdr"
  echo "MAP t=0 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=$A size=4096 phys=0x200000000 prot=rw"
  for i in 0 1 2 3 4 5 6 7 8 9; do
      echo "DMA t=1$i dev=01:00.0 pasid=0 iova=$A size=4096 dir=write"
  done; } > "$WORK/pipe.txt"
"$IOSIM" --config "$CFG" --no-progress "$WORK/pipe.txt" > "$WORK/pipe.out"
x=$((l0 + 6 * lm + 9 * l0)); w=$((10 * 328))
[ "$(stat dma.xlate_time_ns "$WORK/pipe.out")" = "$x" ] ||
    fail "translation stage $(stat dma.xlate_time_ns "$WORK/pipe.out"), want $x"
[ "$(stat dma.link_time_ns "$WORK/pipe.out")" = "$w" ] ||
    fail "link stage $(stat dma.link_time_ns "$WORK/pipe.out"), want $w"
[ "$(stat dma.device_time_ns "$WORK/pipe.out")" = "$w" ] ||
    fail "device time $(stat dma.device_time_ns "$WORK/pipe.out"), want the link's $w"

cat > "$WORK/ih.txt" <<EOT
$hdr
MAP t=0 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=$A size=4096 phys=0x200000000 prot=rw
MAP t=1 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=$B size=4096 phys=0x200001000 prot=rw
DMA t=10 dev=01:00.0 pasid=0 iova=$A size=4096 dir=write
UNMAP t=20 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=$A size=4096
DMA t=30 dev=01:00.0 pasid=0 iova=$B size=4096 dir=write
UNMAP t=40 cpu=0 dev=01:00.0 dom=1 pasid=0 iova=$B size=4096
EOT
for ih in false true; do
    "$IOSIM" --config "$CFG" --set os.pass_ih=$ih --no-progress "$WORK/ih.txt" > "$WORK/ih-$ih.out"
    if [ $ih = false ]; then l=2; r=$((6 + 4)); else l=1; r=$((6 + 1)); fi
    for c in psc.l1_misses psc.l2_misses psc.l3_misses; do
        [ "$(stat $c "$WORK/ih-$ih.out")" = $l ] ||
            fail "pass_ih=$ih: $c = $(stat $c "$WORK/ih-$ih.out"), want $l"
    done
    [ "$(stat walk.mem_reads "$WORK/ih-$ih.out")" = $r ] ||
        fail "pass_ih=$ih: $(stat walk.mem_reads "$WORK/ih-$ih.out") reads, want $r"
    [ "$(stat iotlb.misses "$WORK/ih-$ih.out")" = 2 ] || fail "pass_ih=$ih: iotlb misses"
done
finish
