#!/usr/bin/env bash
# input_warnings.sh — what is suspicious but replayable in a trace (issue
# 22) is counted in a [warning] block (text, only when non-zero; JSON and
# CSV always) and refused by --strict-input with one line naming the
# record.  The trace below is written by hand with exactly one of each:
# record 1 unmaps an IOVA never mapped, record 3 is a DMA to an unmapped
# IOVA, record 4 goes back in time, record 5 is a DMA whose range wraps
# past 2^64 (and is unmapped too: dma_unmapped counts 2); the clean
# trace_small.txt has none.
. "${SRC:?}/tests/cli/lib/common.sh"
cat > "$WORK/w.txt" <<'TXT'
# iosim-trace text v1
#meta has_dma=1
MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=4096 phys=0x1000 prot=rw
UNMAP t=2000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x90000 size=4096
DMA t=3000 dev=01:00.0 pasid=0 iova=0x10000 size=64 dir=write dom=6
DMA t=4000 dev=01:00.0 pasid=0 iova=0x50000 size=64 dir=write dom=6
MAP t=3500 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x20000 size=4096 phys=0x2000 prot=rw
DMA t=5000 dev=01:00.0 pasid=0 iova=0xfffffffffffff000 size=8192 dir=read dom=6
TXT
opts=(--no-progress --set sim.window_only=false --set dev.model=none)
"$IOSIM" "${opts[@]}" --format csv "$WORK/w.txt" > "$WORK/w.csv" 2> "$WORK/err" || fail "replay: $(cat "$WORK/err")"
for nv in input.stray_unmaps=1 input.dma_unmapped=2 input.time_backwards=1 input.wrapped=1; do
    n=${nv%=*}; v=${nv#*=}
    got=$(awk -F, -v n="$n" '$1=="warning" && $3==n {print $4}' "$WORK/w.csv")
    [ "$got" = "$v" ] || fail "$n: $got, want $v"
done
"$IOSIM" "${opts[@]}" "$WORK/w.txt" | grep -q '^\[warning\]' || fail "no [warning] block in the text report"
"$IOSIM" "${opts[@]}" --format json "$WORK/w.txt" | grep -q '"warning": {"input.stray_unmaps": 1,' \
    || fail "no warnings object in JSON"
# DMA after its buffer's unmap: one DMA to an unmapped IOVA whatever the
# policy; the replay reuses the check's look at the trace's view, so the
# policy's own outcome must stay: lazy keeps the IOTLB entry until its
# deferred flush (a stale hit), strict has invalidated it (a fault),
# passthrough translates nothing
cat > "$WORK/s.txt" <<'TXT'
# iosim-trace text v1
#meta has_dma=1
MAP t=1000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=4096 phys=0x1000 prot=rw
DMA t=2000 dev=01:00.0 pasid=0 iova=0x10000 size=64 dir=write dom=6
UNMAP t=3000 cpu=0 dev=01:00.0 dom=6 pasid=0 iova=0x10000 size=4096
DMA t=4000 dev=01:00.0 pasid=0 iova=0x10000 size=64 dir=write dom=6
TXT
for want in lazy:1:0 strict:0:1 passthrough:0:0; do
    IFS=: read -r pol stale faults <<< "$want"
    got=$("$IOSIM" "${opts[@]}" --set os.policy="$pol" --format csv "$WORK/s.txt" |
          awk -F, '$3=="input.dma_unmapped" || $3=="dma.stale_hits" || $3=="dma.faults" {printf "%s=%s ", $3, $4}')
    [ "$got" = "dma.faults=$faults dma.stale_hits=$stale input.dma_unmapped=1 " ] ||
        fail "$pol: $got"
done
# a clean trace: no block in text, zeros in CSV
"$IOSIM" --no-progress "$SRC/tests/data/trace_small.txt" | grep -q '^\[warning\]' && fail "clean trace has a [warning] block"
z=$("$IOSIM" --no-progress --format csv "$SRC/tests/data/trace_small.txt" | awk -F, '$1=="warning" {s += $4; n++} END {print n, s}')
[ "$z" = "4 0" ] || fail "clean trace CSV warnings: $z"
# --strict-input: the first one (record 1, the stray unmap) is an error
rm -f "$WORK/out.txt"
"$IOSIM" "${opts[@]}" --strict-input -o "$WORK/out.txt" "$WORK/w.txt" > /dev/null 2> "$WORK/err"
rc=$?
[ $rc -eq 2 ] || fail "--strict-input: exit $rc"
[ "$(wc -l < "$WORK/err")" -eq 1 ] || fail "--strict-input: not one line"
grep -q 'w.txt:4: strict: record 1 (t=2000): --strict-input: UNMAP iova 0x90000' "$WORK/err" \
    || fail "--strict-input message: $(cat "$WORK/err")"
[ ! -e "$WORK/out.txt" ] || fail "--strict-input left an output"
finish
