#!/usr/bin/env bash
# Compare kernels: a --compare item may name the kernel
# (POLICY@MODE:KERNEL sets os.kernel), and --sweep os.kernel=6.1,6.12 does
# the same as any key.  On traces/redis-strict.zst (a Linux 6.1 guest
# behind QEMU, configs/qemu-guest.yaml: caching mode, ATS) the expected
# counts are derived by hand from the kernels' code (sim/os/os_kernel.c):
#  - a map under caching mode: one PSI, one qi_submit_sync, in both
#    (6.1 __mapping_notify_one, 6.12 cache_tag_flush_range_np);
#  - an unmap: a PSI and a device-TLB descriptor; 6.1 submits each alone
#    (qi_flush_iotlb, qi_flush_dev_iotlb), 6.12 both in one qi_batch.
# With M maps and U unmaps (iosim-trace stat: records.map, records.unmap):
# descriptors M + U IOTLB and U device-TLB in both, the kernel's logged
# counts; submissions = VM exits (hv.mode emulated: one per tail write)
# 6.1: M + 2U, 6.12: M + U; the ratio 6.12 / 6.1 = (M + U) / (M + 2U),
# about 2/3 as M is about U (82,730 and 82,744: 165,474 / 248,218).
. "${SRC:?}/tests/cli/lib/common.sh"
cfg=$SRC/configs/qemu-guest.yaml
T=$SRC/traces/redis-strict.zst
st=$("$IOSIM_TRACE" stat "$T")
M=$(echo "$st" | awk '$1=="records.map"{print $3}')
U=$(echo "$st" | awk '$1=="records.unmap"{print $3}')
[ "$M" -gt 1000 ] && [ "$U" -gt 1000 ] || fail "trace counts M='$M' U='$U'"

"$IOSIM" --config "$cfg" --set sim.window_only=false --no-progress \
    --compare strict@emulated:6.1,strict@emulated:6.12 "$T" > "$WORK/k.txt" ||
    fail "--compare with kernels failed"
grep -qx '\[sim strict@emulated:6.1\]' "$WORK/k.txt" &&
    grep -qx '\[sim strict@emulated:6.12\]' "$WORK/k.txt" ||
    fail "text report: not both columns: $(grep '^\[sim' "$WORK/k.txt" | tr '\n' ' ')"
# the 6.12 column says what the kernel changed; the trace's own (6.1) is
# the [config] echo's, so its column changes nothing
grep -A1 -x '\[sim strict@emulated:6.12\]' "$WORK/k.txt" | grep -q \
    'config differs from \[config\]:.*os.kernel=6.12 os.strict_batch=16 os.flush_all_devtlb_cm=true' ||
    fail "6.12 column: $(grep -A1 -x '\[sim strict@emulated:6.12\]' "$WORK/k.txt" | tail -1)"
grep -q '^os.kernel  *= 6.1  ' "$WORK/k.txt" || fail "echo: os.kernel not resolved to the trace's 6.1"

"$IOSIM" --config "$cfg" --set sim.window_only=false --no-progress --format csv \
    --compare strict@emulated:6.1,strict@emulated:6.12 "$T" > "$WORK/k.csv" ||
    fail "--compare (csv) failed"
for k in 6.1 6.12; do
    l=strict@emulated:$k
    io=$(csv_value "$WORK/k.csv" stat "$l" os.inval_iotlb)
    dt=$(csv_value "$WORK/k.csv" stat "$l" os.inval_devtlb)
    sub=$(csv_value "$WORK/k.csv" stat "$l" os.inval_submits)
    ex=$(csv_value "$WORK/k.csv" stat "$l" hv.vmexits)
    echo "$l: $io IOTLB + $dt devTLB descriptors, $sub submissions, $ex VM exits"
    [ "$io" = "$((M + U))" ] && [ "$dt" = "$U" ] ||
        fail "$l: descriptors $io / $dt, want M+U=$((M + U)) / U=$U"
    [ "$io" = "$(csv_value "$WORK/k.csv" stat "$l" trace.inval_iotlb)" ] &&
        [ "$dt" = "$(csv_value "$WORK/k.csv" stat "$l" trace.inval_devtlb)" ] ||
        fail "$l: descriptors differ from the kernel's logged ones"
    [ "$sub" = "$ex" ] || fail "$l: $sub submissions but $ex VM exits"
done
s61=$(csv_value "$WORK/k.csv" stat strict@emulated:6.1 hv.vmexits)
s612=$(csv_value "$WORK/k.csv" stat strict@emulated:6.12 hv.vmexits)
[ "$s61" = "$((M + 2 * U))" ] || fail "6.1: $s61 VM exits, want M+2U = $((M + 2 * U))"
[ "$s612" = "$((M + U))" ] || fail "6.12: $s612 VM exits, want M+U = $((M + U))"
[ "$s612" -lt "$s61" ] || fail "6.12 does not exit less ($s612 against $s61)"
# the ratio, to 3 decimals: (M + U) / (M + 2U)
r=$(awk -v a="$s612" -v b="$s61" 'BEGIN{printf "%.3f", a / b}')
want=$(awk -v m="$M" -v u="$U" 'BEGIN{printf "%.3f", (m + u) / (m + 2 * u)}')
echo "VM exits 6.12 / 6.1 = $r (hand-derived (M+U)/(M+2U) = $want)"
[ "$r" = "$want" ] && [ "$r" = 0.667 ] || fail "ratio $r, want $want (0.667)"

# --sweep os.kernel: the same columns
"$IOSIM" --config "$cfg" --set sim.window_only=false --no-progress --format csv \
    --compare strict@emulated --sweep os.kernel=6.1,6.12 "$T" > "$WORK/s.csv" ||
    fail "--sweep os.kernel failed"
for k in 6.1 6.12; do
    diff <(awk -F, -v l="strict@emulated:$k" '$1=="stat" && $2==l {print $3","$4}' "$WORK/k.csv") \
         <(awk -F, -v l="strict@emulated os.kernel=$k" '$1=="stat" && $2==l {print $3","$4}' "$WORK/s.csv") \
         > /dev/null || fail "--sweep os.kernel=$k differs from the item :$k"
done
# the default (os.kernel auto) is the trace's kernel: the :6.1 column
"$IOSIM" --config "$cfg" --set sim.window_only=false --no-progress --format csv \
    --compare strict@emulated "$T" > "$WORK/a.csv" || fail "auto run failed"
diff <(awk -F, '$1=="stat" && $2=="strict@emulated:6.1" {print $3","$4}' "$WORK/k.csv") \
     <(awk -F, '$1=="stat" && $2=="strict@emulated" {print $3","$4}' "$WORK/a.csv") \
     > /dev/null || fail "os.kernel auto on a 6.1 trace differs from :6.1"

# bad input: one line, exit 2
bad() { # what args...
    local what=$1; shift
    "$IOSIM" --config "$cfg" --no-progress "$@" "$T" > /dev/null 2> "$WORK/e.txt"
    local rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$WORK/e.txt")" -eq 1 ] ||
        fail "$what: exit $rc, stderr '$(cat "$WORK/e.txt")'"
    echo "$what: $(cat "$WORK/e.txt")"
}
bad "unknown kernel" --compare strict@emulated:6.8
grep -qF -- "--compare strict@emulated:6.8: --set os.kernel: expected one of auto|6.1|6.12, got '6.8'" \
    "$WORK/e.txt" || fail "unknown kernel: message"
bad "empty kernel" --compare strict:
grep -qF -- "--compare strict:: --set os.kernel: expected one of auto|6.1|6.12, got ''" \
    "$WORK/e.txt" || fail "empty kernel: message"
bad "kernel swept and set per item" --compare strict:6.1 --sweep os.kernel=6.1,6.12
grep -q "os.kernel: --compare sets it per item" "$WORK/e.txt" || fail "sweep clash message"
finish
