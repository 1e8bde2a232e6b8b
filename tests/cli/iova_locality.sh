#!/usr/bin/env bash
# scripts/iova-locality: F&S's IOVA locality metric (Figure 2e/3e), the
# distinct regions accessed before an access's region repeats.
#   - a hand-written trace whose values are counted here by hand: DMA
#     accesses to the 2 MB regions 0 1 2 3 0 0 1 repeat three times, with
#     {1,2,3} = 3, nothing = 0 and {2,3,0} = 3 distinct regions between,
#     so p50 = p90 = p99 = max = 3; at 4 MB (--granule 22) the regions are
#     0 0 1 1 0 0 0, five repeats with 0 0 1 0 0 (p50 0, p90 and max 1);
#     as MAP records (--records map) the one map gives one access;
#   - bad input: a missing trace or a --granule out of range gives one
#     line and exit 2.
. "${SRC:?}/tests/cli/lib/common.sh"
BUILD=$(dirname "$IOSIM_TRACE")
LOC="$SRC/scripts/iova-locality"

cat > "$WORK/t.txt" <<'T'
# iosim-trace text v1
MAP t=1 cpu=0 dev=01:00.0 dom=1 iova=0x000000 size=0x1000 phys=0x900000 prot=rw
DMA t=10 dev=01:00.0 iova=0x000000 size=0x40 dir=write
DMA t=11 dev=01:00.0 iova=0x200000 size=0x40 dir=write
DMA t=12 dev=01:00.0 iova=0x400000 size=0x40 dir=write
DMA t=13 dev=01:00.0 iova=0x600000 size=0x40 dir=write
DMA t=14 dev=01:00.0 iova=0x000100 size=0x40 dir=write
DMA t=15 dev=01:00.0 iova=0x1ff000 size=0x40 dir=write
DMA t=16 dev=01:00.0 iova=0x200040 size=0x40 dir=write
T
row() { "$LOC" --build "$BUILD" "$@" "$WORK/t.txt" | tail -n 1 | cut -d, -f2-; }
got=$(row) || fail "2 MB run: exit $?"
[ "$got" = "7,4,3,3,3,3,3" ] || fail "2 MB: got $got, want 7,4,3,3,3,3,3"
got=$(row --granule 22) || fail "4 MB run: exit $?"
[ "$got" = "7,2,5,0,1,1,1" ] || fail "4 MB: got $got, want 7,2,5,0,1,1,1"
got=$(row --records map) || fail "map run: exit $?"
[ "$got" = "1,1,0,0,0,0,0" ] || fail "map: got $got, want 1,1,0,0,0,0,0"

for bad in "$WORK/missing.zst" "--granule 8 $WORK/t.txt"; do
    # shellcheck disable=SC2086
    "$LOC" --build "$BUILD" $bad > "$WORK/out" 2> "$WORK/errout"
    rc=$?
    [ "$rc" = 2 ] || fail "$bad: exit $rc, want 2"
    [ "$(wc -l < "$WORK/errout")" = 1 ] || fail "$bad: not one line: $(cat "$WORK/errout")"
done
finish
