#!/usr/bin/env bash
# Overlapped timing (vtd.timing overlapped): on uniform random
# 512 B reads over a 64 MB window of 4 KB pages nearly every request
# misses the 64-entry IOTLB, so with the link uncapped by walks the
# device's rate is set by the walkers: k walkers in parallel move k times
# what one moves, until the link (100 Gb/s) caps it.  Independent route:
# the 1-walker rate times k, capped at the link rate.  With 2 MB pages
# the same window fits the IOTLB: the link rate whatever the walkers.
. "${SRC:?}/tests/cli/lib/common.sh"
out=$(IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/timing-sweep" \
      --windows 64M --walks 1,2,4,8 --count 20000) || { fail "timing-sweep failed"; exit 1; }
echo "$out"
g() { echo "$out" | awk -F, -v p="$1" -v k="$2" '$1==p && $3==k {print $6}'; }
one=$(g 4K 1)
for k in 2 4 8; do
    got=$(g 4K $k)
    awk -v one="$one" -v k="$k" -v got="$got" 'BEGIN {
        want = one * k; if (want > 100 * 0.999) want = 100 * 0.999
        exit !(got > 0 && (got - want) / want < 0.03 && (want - got) / want < 0.03) }' \
        || fail "4K, $k walkers: $got Gb/s, expected min(link, $k x $one)"
done
for k in 1 8; do
    got=$(g 2M $k)
    awk -v got="$got" 'BEGIN { exit !(got > 99 && got <= 100) }' || fail "2M, $k walkers: $got Gb/s, expected the link rate"
done
# the serial (F&S) time does not depend on the walkers
s1=$(echo "$out" | awk -F, '$1=="4K" && $3==1 {print $5}')
s8=$(echo "$out" | awk -F, '$1=="4K" && $3==8 {print $5}')
[ "$s1" = "$s8" ] || fail "serial rate moved with the walkers: $s1 vs $s8"
finish
