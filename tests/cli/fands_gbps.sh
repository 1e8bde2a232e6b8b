#!/usr/bin/env bash
# fands_gbps.sh — the report's summary fands_gbps (F&S's throughput
# p / (l0 + M lm), which the validation cases and research/fands-explore
# read) equals the formula recomputed here from the same report's counters
# and configuration: 8 * 4096 * requests / (device time - l0 * (bytes /
# request_bytes - requests)), for strict and the F&S scheme on a gen nic
# trace and under an l0 changed with --set (so a formula that ignored l0 or
# the extra bytes would differ).
. "${SRC:?}/tests/cli/lib/common.sh"
"$IOSIM_TRACE" gen nic --flows 5 --packets 3000 --device-rings -o "$WORK/nic.zst" ||
    fail "gen nic exit $?"
for l0 in 13.2 40; do
    "$IOSIM" --no-progress --config "$SRC/configs/fands-cascadelake.yaml" --format json \
        --set vtd.dma_base_ns=$l0 --compare strict,fands "$WORK/nic.zst" > "$WORK/r.json" ||
        fail "iosim exit $?"
    python3 - "$WORK/r.json" "$l0" <<'PY' || fail "l0 $l0: fands_gbps differs from the formula"
import json, sys
d = json.load(open(sys.argv[1]))
l0 = float(sys.argv[2])
assert d["config"]["vtd"]["dma_base_ns"] == l0
rb = d["config"]["vtd"]["request_bytes"]
bad = 0
for s in d["sims"]:
    st = s["stat"]
    req = st["trace.requests"]
    extra = st["dma.bytes"] / rb - req
    want = 8 * 4096 * req / (st["dma.device_time_ns"] - l0 * extra)
    got = s["summary"]["fands_gbps"]
    if not (req > 0 and extra > 0 and abs(got - want) <= 1e-6 * want):
        print("%s: fands_gbps %s, formula %s (requests %s, extra %s)"
              % (s["label"], got, want, req, extra), file=sys.stderr)
        bad += 1
sys.exit(bad > 0)
PY
done
finish
