#!/usr/bin/env bash
# example.sh — the example plug-in (scheme_example.c) in the test build
# of iosim: listed, its two knobs in --help-config, set from YAML, checked
# by its validate hook, and its cost cause in the report with the value
# its knobs imply, computed here from the trace text with awk (fixed +
# pages x per-page cycles for each UNMAP, pages = size rounded up to
# 4 KB), and equal to example's iommu_cycles minus strict's in one
# --compare pass.  The product's iosim knows nothing of it.
set -u
: "${IOSIM:?}" "${IOSIM_PRODUCT:?}" "${SRC:?}" "${WORK:?}"
mkdir -p "$WORK"
here="$SRC/tests/plugin"
trace="$here/example.trace"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# what the knobs imply, from the trace itself
expect() { # FIXED PAGE -> total cycles
    awk -v f="$1" -v p="$2" '$1 == "UNMAP" {
        for (i = 2; i <= NF; i++) if ($i ~ /^size=/) s = substr($i, 6) + 0
        tot += f + p * int((s + 4095) / 4096) }
        END { printf "%d\n", tot }' "$trace"
}
requests=$(awk -F= '/^#meta requests=/ {print $2}' "$trace")
val() { # FILE SECTION LABEL NAME
    awk -F, -v s="$2" -v l="$3" -v n="$4" '$1==s && $2==l && $3==n {print $4}' "$1"
}

"$IOSIM" --list | grep -q '^  example ' || fail "--list lacks example"
"$IOSIM_PRODUCT" --list | grep -q '^  example ' && fail "the product lists example"
for k in scheme.example_fixed_cycles scheme.example_page_cycles; do
    "$IOSIM" --help-config | grep -q "^| $k | f64 |" || fail "--help-config lacks $k"
done
# and under os.policy, what it implies (its params.implies, as --list shows)
"$IOSIM" --list | grep -q '^  example .*implies: os.strict_batch=1}' || fail "--list lacks example's implies"
"$IOSIM" --help-config os.policy | grep -qF ', example (implies os.strict_batch=1);' ||
    fail "--help-config os.policy lacks example (implies os.strict_batch=1)"
"$IOSIM_PRODUCT" --help-config os.policy | grep -q 'example' && fail "the product's reference names example"

# knobs from YAML
"$IOSIM" --config "$here/example.yaml" --no-progress --format csv \
    --compare strict,example "$trace" > "$WORK/k.csv" 2> "$WORK/err" ||
    fail "replay: $(cat "$WORK/err")"
want=$(expect 1200 250)
[ "$want" = 7300 ] || fail "awk sum $want, want 7300 (4 unmaps of 1+4+2+3 pages: 4 x 1200 + 10 x 250)"
got=$(val "$WORK/k.csv" stat example cpu.example_check_cycles)
[ "$got" = "$want" ] || fail "cpu.example_check_cycles $got, want $want"
per=$(awk -v t="$want" -v r="$requests" 'BEGIN { printf "%.6f", t / r }')
got=$(val "$WORK/k.csv" derived example per_request.example_check_cycles)
[ "$got" = "$per" ] || fail "per_request.example_check_cycles $got, want $per"
got=$(val "$WORK/k.csv" summary example example_check_cycles)
[ "$got" = "$per" ] || fail "summary example_check_cycles $got, want $per"
got=$(val "$WORK/k.csv" stat strict cpu.example_check_cycles)
[ "$got" = 0 ] || fail "strict's cpu.example_check_cycles $got, want 0"
a=$(val "$WORK/k.csv" stat example cpu.iommu_cycles)
b=$(val "$WORK/k.csv" stat strict cpu.iommu_cycles)
[ -n "$a" ] && [ -n "$b" ] && [ $((a - b)) = "$want" ] ||
    fail "iommu_cycles example - strict = $a - $b, want $want"
# the knobs are echoed as set
got=$(val "$WORK/k.csv" config "" scheme.example_page_cycles)
[ "$got" = 250 ] || fail "echo scheme.example_page_cycles $got"

# what the scheme implies (os.strict_batch 1) comes with a --compare item
# naming it, whatever the kernel batches (6.12: 16, os_kernel.c), and a
# point's own setting overrides it
"$IOSIM" --no-progress --format csv --set sim.window_only=false \
    --set dev.model=none --compare strict:6.12,example:6.12 "$trace" \
    > "$WORK/i.csv" 2> "$WORK/err" || fail "implies: $(cat "$WORK/err")"
got=$(val "$WORK/i.csv" config example:6.12 os.strict_batch)
[ "$got" = 1 ] || fail "example:6.12 os.strict_batch '$got', want 1 (implied)"
got=$(val "$WORK/i.csv" config strict:6.12 os.strict_batch)
[ "$got" = 16 ] || fail "strict:6.12 os.strict_batch '$got', want 16 (6.12)"
"$IOSIM" --no-progress --format csv --set sim.window_only=false \
    --set dev.model=none --compare example:6.12 --sweep os.strict_batch=4 \
    "$trace" > "$WORK/o.csv" 2> "$WORK/err" || fail "override: $(cat "$WORK/err")"
grep -q ',os.strict_batch,4$' "$WORK/o.csv" ||
    fail "a point's os.strict_batch 4 did not override the implied 1"

# defaults (500, 100), and --set over YAML
"$IOSIM" --no-progress --format csv --set os.policy=example \
    --set sim.window_only=false --set dev.model=none "$trace" > "$WORK/d.csv" ||
    fail "replay with defaults"
got=$(val "$WORK/d.csv" stat example cpu.example_check_cycles)
[ "$got" = "$(expect 500 100)" ] || fail "defaults: $got, want $(expect 500 100)"

# the validate hook: both knobs 0 is refused in one line, exit 2
"$IOSIM" --config "$here/example.yaml" --no-progress \
    --set scheme.example_fixed_cycles=0 --set scheme.example_page_cycles=0 \
    "$trace" > "$WORK/v.out" 2> "$WORK/v.err"
rc=$?
[ $rc = 2 ] || fail "knobs 0: exit $rc, want 2"
[ "$(wc -l < "$WORK/v.err")" = 1 ] && grep -q 'scheme.example_page_cycles' "$WORK/v.err" ||
    fail "knobs 0: stderr '$(cat "$WORK/v.err")'"
[ -s "$WORK/v.out" ] && fail "knobs 0: output written"

[ $fails -eq 0 ] && echo "plugin example: cost $want cycles ($per per request) as its knobs imply"
exit $((fails > 0))
