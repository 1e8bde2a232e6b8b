#!/usr/bin/env bash
# gen_nic_driver_only.sh — `gen nic --driver-only` + dev.model mlx5
# (dev.mlx5.profile gen-nic) gives the device accesses of the full
# `gen nic` trace, so the driver half and the device model can be used apart.
#
# For several gen nic settings the F&S validation cases use, the full
# trace (its DMA records replayed, has_dma=1) and the --driver-only trace
# (has_dma=0, device=mlx5, accesses from the model) are replayed under
# configs/fands-cascadelake.yaml with strict and the F&S scheme; every
# iotlb.*, psc.*, walk.* counter and dma.requests, dma.bytes,
# dma.device_time_ns must be equal.  Also: --driver-only writes exactly
# the full trace's records minus its DMA records, plus with --rx-cache one
# MARK repost per page the cache gives back (each a live write-only rx
# page; the full trace has none), and the default output does not change
# with the flag's existence (checked by the golden and validation tests).
#
# The driver-only trace also carries those dev.mlx5 settings itself
# (metadata implies.*, gen_nic_implies): replayed with no --set at all it
# must give the full trace's counters too, and a --set of an implied key
# wins over the trace (the report says which were applied).
#
# Settings: each line is a gen nic command line (without --packets) and
# the dev.mlx5 settings that match it (see docs/dev-mlx5.md, "gen nic").
# The rx-cache settings are the fands-rxunmap-* inputs (5, 10, 40 flows)
# and page mode; ring8x-* are fands-ring8x's input and baseline under one
# set of dev.mlx5 settings (rings=runs: ring sizes from the trace).
# Not covered (docs/dev-mlx5.md, "gen nic --driver-only"): --channels
# (idle channels' pages look like rx pages), --direction tx|both (rx ACKs
# have no MARK; tx data reads the whole packet).
. "${SRC:?}/tests/cli/lib/common.sh"
CFG="$SRC/configs/fands-cascadelake.yaml"
PACKETS=${GEN_NIC_DO_PACKETS:-6000}

F="--cpus 5 --ring 256 --mtu 4096 --rx-header 14 --pages-per-descriptor 64 --stride 64 --queue-per-cpu --napi-batch 16 --device-rings --stagger-polls --stagger-wqes"
M="channels=5 profile=gen-nic pages_per_wqe=64 stride=64 packet_bytes=4110 mps=4096 mrrs=4096 tx_bytes=64 tx_wqes=64 tx_cqes=64 stagger_wqes=true"
# name | gen nic flags | dev.mlx5 settings
CASES=(
"gro40|--flows 40 $F --gro-segments 16|$M rx_wqes=5 rx_cqes=256"
"gro5|--flows 5 $F --gro-segments 16|$M rx_wqes=5 rx_cqes=256"
"acks40|$F --flows 40 --ack-every 53|$M rx_wqes=5 rx_cqes=256"
"acks10-rq|$F --flows 10 --ack-every 50 --rq-sizing mlx5|$M rx_wqes=8 rx_cqes=256"
"ring2048|--flows 5 ${F/--ring 256/--ring 2048} --ack-every 18|$M rx_wqes=33 rx_cqes=2048"
"unmapns|$F --flows 40 --ack-every 8 --unmap-ns 650 --rq-sizing mlx5|$M rx_wqes=8 rx_cqes=256"
"pages|--flows 5 --cpus 5 --ring 256 --mtu 4096 --napi-batch 64 --no-acks|channels=5 profile=gen-nic rings=none pages_per_wqe=64 stride=4096 packet_bytes=4096 mps=4096 mrrs=4096"
"rxcache5|$F --flows 5 --ack-every 23 --rx-cache 256 --unmap-ns 650 --app-lag 0 --rq-sizing mlx5|$M rx_wqes=8 rx_cqes=256"
"rxcache10|$F --flows 10 --ack-every 15 --rx-cache 256 --unmap-ns 650 --app-lag 208 --rq-sizing mlx5|$M rx_wqes=8 rx_cqes=256"
"rxcache40|$F --flows 40 --ack-every 8 --rx-cache 256 --unmap-ns 650 --app-lag 4096 --rq-sizing mlx5|$M rx_wqes=8 rx_cqes=256"
"rxcache-pages|--flows 5 --cpus 5 --ring 256 --mtu 4096 --napi-batch 16 --ack-every 4 --rx-cache 64|channels=5 profile=gen-nic rings=none pages_per_wqe=64 stride=4096 packet_bytes=4096 mps=4096 mrrs=4096 tx_bytes=64"
"ring8x-256|--flows 5 $F --gro-segments 16|$M rings=runs"
"ring8x-2048|--flows 5 ${F/--ring 256/--ring 2048} --gro-segments 16|$M rings=runs"
)

COUNTERS='iotlb.|psc.|walk.|dma.requests|dma.bytes|dma.device_time_ns'

# counters NAME JSON: "label counter value" lines of the compared counters
counters() {
    python3 - "$1" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
pat = re.compile(r"^(iotlb\.|psc\.|walk\.|dma\.requests$|dma\.bytes$|dma\.device_time_ns$)")
for s in d["sims"]:
    for k, v in sorted(s["stat"].items()):
        if pat.match(k):
            print(s["label"], k, v)
EOF
}

for c in "${CASES[@]}"; do
    IFS='|' read -r name flags sets <<< "$c"
    full="$WORK/$name-full.zst"
    drv="$WORK/$name-drv.zst"
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" gen nic $flags --packets "$PACKETS" -o "$full" || { fail "$name: gen"; continue; }
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" gen nic $flags --packets "$PACKETS" --driver-only -o "$drv" || { fail "$name: gen --driver-only"; continue; }
    # the driver-only trace is the full one without its DMA records, plus
    # (--rx-cache) a MARK repost where the cache gives a page back
    "$IOSIM_TRACE" to-text "$full" 2>/dev/null | grep -v '^DMA ' | grep -v '^#meta' > "$WORK/$name-full.txt"
    "$IOSIM_TRACE" to-text "$drv" 2>/dev/null | grep -v '^#meta' > "$WORK/$name-drv-all.txt"
    grep -v '^MARK .* type=repost' "$WORK/$name-drv-all.txt" > "$WORK/$name-drv.txt"
    cmp -s "$WORK/$name-full.txt" "$WORK/$name-drv.txt" || fail "$name: driver records differ from the full trace's"
    reposts=$(grep -c '^MARK .* type=repost' "$WORK/$name-drv-all.txt")
    case "$flags" in
    *--rx-cache*)
        [ "$reposts" -gt 0 ] || fail "$name: --rx-cache without a MARK repost"
        python3 - "$WORK/$name-drv-all.txt" <<'EOF' || fail "$name: a MARK repost is not a live rx page"
# every reposted page is a live write-only 4 KB page (mapped by the
# driver as an rx page and not unmapped since)
import re, sys
def field(line, k):
    m = re.search(r"\b%s=(\S+)" % k, line)
    return m.group(1) if m else None
live = {}
for line in open(sys.argv[1]):
    kind = line.split(" ", 1)[0]
    iova = field(line, "iova")
    if kind == "MAP":
        live[iova] = field(line, "prot")
    elif kind == "UNMAP":
        live.pop(iova, None)
    elif kind == "MARK" and field(line, "type") == "repost":
        if live.get(iova) != "w" or field(line, "size") != "4096":
            sys.exit("repost of %s: not a live write-only page" % iova)
EOF
        ;;
    *) [ "$reposts" -eq 0 ] || fail "$name: MARK repost without --rx-cache" ;;
    esac
    "$IOSIM_TRACE" to-text "$drv" 2>/dev/null | grep -q '^#meta has_dma=0' || fail "$name: no has_dma=0"
    "$IOSIM_TRACE" to-text "$drv" 2>/dev/null | grep -q '^#meta device=mlx5' || fail "$name: no device=mlx5"
    args=()
    for s in $sets; do args+=(--set "dev.mlx5.$s"); done
    "$IOSIM" --no-progress --config "$CFG" --compare strict,fands --format json "$full" > "$WORK/$name-a.json" || { fail "$name: replay full"; continue; }
    # dev.model auto picks mlx5 from the metadata
    "$IOSIM" --no-progress --config "$CFG" --compare strict,fands --format json "${args[@]}" "$drv" > "$WORK/$name-b.json" || { fail "$name: replay driver-only"; continue; }
    # no --set: the settings the trace implies
    "$IOSIM" --no-progress --config "$CFG" --compare strict,fands --format json "$drv" > "$WORK/$name-c.json" || { fail "$name: replay driver-only, implied settings"; continue; }
    counters "$WORK/$name-a.json" > "$WORK/$name-a.cnt"
    counters "$WORK/$name-b.json" > "$WORK/$name-b.cnt"
    counters "$WORK/$name-c.json" > "$WORK/$name-c.cnt"
    [ -s "$WORK/$name-a.cnt" ] || fail "$name: no counters"
    if ! diff "$WORK/$name-a.cnt" "$WORK/$name-b.cnt" > "$WORK/$name.diff"; then
        fail "$name: counters differ: $(head -6 "$WORK/$name.diff" | tr '\n' ' ')"
    fi
    if ! diff "$WORK/$name-a.cnt" "$WORK/$name-c.cnt" > "$WORK/$name-c.diff"; then
        fail "$name: implied settings: counters differ: $(head -6 "$WORK/$name-c.diff" | tr '\n' ' ')"
    fi
    grep -q ' dma.requests 0$' "$WORK/$name-b.cnt" && fail "$name: no device requests"
done

# --- the settings a driver-only trace implies ------------------------------
# Every key of the first case's dev.mlx5 settings the trace implies, with
# the same value (the hand-written table above is the independent route),
# and the report says each was applied.
drv="$WORK/gro40-drv.zst"
for s in $M rx_wqes=5 rx_cqes=256; do
    "$IOSIM_TRACE" to-text "$drv" 2>/dev/null | grep -qx "#meta implies.dev.mlx5.$s" ||
        fail "gro40: the trace does not imply dev.mlx5.$s"
done
"$IOSIM" --no-progress --config "$CFG" "$drv" > "$WORK/implied.txt" || fail "gro40: text report"
grep -qx '# trace implies dev.mlx5.stride=64: applied' "$WORK/implied.txt" ||
    fail "gro40: the report does not say stride=64 was applied"
grep -qE '^dev\.mlx5\.stride = 64 ' "$WORK/implied.txt" || fail "gro40: echo lacks dev.mlx5.stride = 64"
# A user's setting wins: --set dev.mlx5.mps=256 on the trace gives the run
# with every implied setting given by --set and mps=256 (cut into 256 B
# writes: more device requests than with the implied 4096).
all=()
for s in $M rx_wqes=5 rx_cqes=256 rings=traced wqe_bytes=64 cqe_bytes=64 rx_per_mark=1; do
    all+=(--set "dev.mlx5.$s")
done
"$IOSIM" --no-progress --config "$CFG" --format json --set dev.mlx5.mps=256 "$drv" > "$WORK/o1.json" ||
    fail "override: replay"
"$IOSIM" --no-progress --config "$CFG" --format json "${all[@]}" --set dev.mlx5.mps=256 "$drv" > "$WORK/o2.json" ||
    fail "override: explicit replay"
counters "$WORK/o1.json" > "$WORK/o1.cnt"
counters "$WORK/o2.json" > "$WORK/o2.cnt"
cmp -s "$WORK/o1.cnt" "$WORK/o2.cnt" ||
    fail "override: --set mps=256 is not the explicit run: $(diff "$WORK/o1.cnt" "$WORK/o2.cnt" | head -4 | tr '\n' ' ')"
python3 - "$WORK/o1.json" "$WORK/gro40-c.json" <<'EOF' || fail "override: mps=256 not applied or not reported"
import json, sys
o, c = (json.load(open(p)) for p in sys.argv[1:])
imp = o["trace"]["implies"]
assert imp["dev.mlx5.mps"] == {"value": "4096", "applied": False}, imp["dev.mlx5.mps"]
assert imp["dev.mlx5.stride"] == {"value": "64", "applied": True}, imp["dev.mlx5.stride"]
assert o["config"]["dev"]["mlx5"]["mps"] == 256, o["config"]["dev"]["mlx5"]["mps"]
# 256 B writes: more device requests than the 4 KB ones of the implied value
strict = next(s for s in c["sims"] if s["label"] == "strict")
assert o["sims"][0]["stat"]["dma.requests"] > strict["stat"]["dma.requests"]
EOF
# Not covered by the model's gen-nic profile (--channels, tx): nothing implied
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 500 --channels 4 --driver-only -o "$WORK/ch.zst" ||
    fail "gen --channels"
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 500 --direction both --driver-only -o "$WORK/both.zst" ||
    fail "gen --direction both"
for t in ch both; do
    if "$IOSIM_TRACE" to-text "$WORK/$t.zst" 2>/dev/null | grep -q '^#meta implies\.'; then
        fail "$t: implies settings the model is not laid out for"
    fi
done
# a full trace replays its own DMA records: it implies nothing
if "$IOSIM_TRACE" to-text "$WORK/gro40-full.zst" 2>/dev/null | grep -q '^#meta implies\.'; then
    fail "the full trace implies settings"
fi

finish "${#CASES[@]} settings, counters equal (with --set and with the settings the trace implies)"
