#!/bin/bash
# merge.sh — iosim-trace merge: two shipped captures become one trace of
# two tenants.  Checked by other routes than merge itself: iosim-trace stat
# of each input against stat of the output (records of every kind summed,
# the window marks reduced to one BEGIN and one END, time never going
# backwards, the duration the longer input's, or with --stagger the
# staggered one's), and to-text of each (distinct source ids and domain
# ids add up: no tenant shares one; the second tenant's IOVAs lie one
# stride up).  The merged trace replays; mixing a trace with DMA records
# and one without is one line, exit 2, no output.  Settings the inputs
# imply survive where all agree.
# Env: IOSIM, IOSIM_TRACE, SRC, WORK (see tests/CMakeLists.txt).
. "${SRC:?}/tests/cli/lib/common.sh"
A="$SRC/traces/redis-strict.zst"
B="$SRC/traces/nginx-strict.zst"
OUT="$WORK/two.zst"

# st FILE KEY: a value of iosim-trace stat's text output
st() { "$IOSIM_TRACE" stat "$1" | awk -v k="$2" '$1 == k { print $3 }'; }

"$IOSIM_TRACE" merge "$A" "$B" -o "$OUT" 2> "$WORK/merge.err" || fail "merge: exit $?"
for k in map unmap dma inval; do
    want=$(( $(st "$A" records.$k) + $(st "$B" records.$k) ))
    got=$(st "$OUT" records.$k)
    [ "$got" = "$want" ] || fail "records.$k: $got, want $want (the inputs' sum)"
done
for k in mark.request; do
    want=$(( $(st "$A" $k) + $(st "$B" $k) ))
    [ "$(st "$OUT" $k)" = "$want" ] || fail "$k: $(st "$OUT" $k), want $want"
done
[ "$(st "$OUT" mark.begin)" = 1 ] || fail "mark.begin: $(st "$OUT" mark.begin), want 1"
[ "$(st "$OUT" mark.end)" = 1 ] || fail "mark.end: $(st "$OUT" mark.end), want 1"
[ "$(st "$OUT" time.backwards)" = 0 ] || fail "time goes backwards in the merge"
[ "$(st "$OUT" time.first)" = 0 ] || fail "time.first: $(st "$OUT" time.first), want 0"
da=$(st "$A" time.duration)
db=$(st "$B" time.duration)
want=$(( da > db ? da : db ))
[ "$(st "$OUT" time.duration)" = "$want" ] || fail "duration $(st "$OUT" time.duration), want $want"
[ "$(st "$OUT" meta.source)" = merge ] || fail "meta.source not merge"
[ "$(st "$OUT" meta.requests)" = $(( $(st "$A" meta.requests) + $(st "$B" meta.requests) )) ] ||
    fail "meta.requests is not the sum"

# distinct ids: per input, then in the output
ids() { # FILE FIELD: distinct values of dev= or dom= over MAP/UNMAP/DMA/INVAL
    "$IOSIM_TRACE" to-text "$1" |
        awk -v f="$2=" '$1 != "MARK" { for (i = 2; i <= NF; i++) if (index($i, f) == 1) print $i }' |
        sort -u | wc -l
}
for f in dev dom; do
    want=$(( $(ids "$A" $f) + $(ids "$B" $f) ))
    got=$(ids "$OUT" $f)
    [ "$got" = "$want" ] || fail "distinct $f: $got, want $want (no id shared)"
done
# the second tenant's records are the ones one stride (64G) up
hi=$("$IOSIM_TRACE" to-text "$OUT" |
     awk '$1 == "MAP" || $1 == "UNMAP" { for (i = 2; i <= NF; i++) if ($i ~ /^iova=/) { v = substr($i, 6); if (length(v) > 11) n++ } } END { print n + 0 }')
want=$(( $(st "$B" records.map) + $(st "$B" records.unmap) ))
[ "$hi" = "$want" ] || fail "MAP/UNMAP at or above 64G: $hi, want $want (the second input's)"

# --stagger: the second input starts 2 s later
"$IOSIM_TRACE" merge "$A" "$B" --stagger 2s -o "$WORK/stag.zst" 2> /dev/null || fail "stagger: exit $?"
want=$(( da > db + 2000000000 ? da : db + 2000000000 ))
[ "$(st "$WORK/stag.zst" time.duration)" = "$want" ] ||
    fail "--stagger 2s: duration $(st "$WORK/stag.zst" time.duration), want $want"
[ "$(st "$WORK/stag.zst" time.backwards)" = 0 ] || fail "--stagger: time goes backwards"

# the merged trace replays: every map of both tenants
"$IOSIM" --no-progress --config "$SRC/configs/vtd.yaml" --set sim.window_only=false \
    --format csv "$OUT" > "$WORK/rep.csv" || fail "replay of the merge: exit $?"
got=$(awk -F, '$1 == "stat" && $3 == "trace.map" { print $4 }' "$WORK/rep.csv")
[ "$got" = "$(st "$OUT" records.map)" ] || fail "replay: trace.map $got"

# one with DMA records and one without: refused
rm -f "$WORK/mix.zst"
"$IOSIM_TRACE" merge "$A" "$SRC/traces/redis-strict-pcap-qemu.zst" -o "$WORK/mix.zst" 2> "$WORK/err"
rc=$?
[ "$rc" -eq 2 ] || fail "mixed has_dma: exit $rc, want 2"
[ "$(wc -l < "$WORK/err")" -eq 1 ] && grep -q "has_dma" "$WORK/err" || fail "mixed has_dma: '$(cat "$WORK/err")'"
[ ! -e "$WORK/mix.zst" ] || fail "mixed has_dma left an output"
# implied settings (metadata implies.*): kept where every input implies
# the same value, dropped where they differ; `stat` lists them
G="--cpus 2 --flows 2 --ring 64 --packets 300 --driver-only"
"$IOSIM_TRACE" gen nic $G -o "$WORK/n1.zst" && "$IOSIM_TRACE" gen nic $G --seed 7 -o "$WORK/n2.zst" &&
    "$IOSIM_TRACE" gen nic $G --stride 128 -o "$WORK/n3.zst" || fail "gen nic --driver-only"
[ "$(st "$WORK/n1.zst" meta.implies.dev.mlx5.stride)" = 4096 ] || fail "stat: no meta.implies.dev.mlx5.stride = 4096"
"$IOSIM_TRACE" merge "$WORK/n1.zst" "$WORK/n2.zst" -o "$WORK/n12.zst" 2> "$WORK/err" || fail "merge n1 n2: $(cat "$WORK/err")"
"$IOSIM_TRACE" merge "$WORK/n1.zst" "$WORK/n3.zst" -o "$WORK/n13.zst" 2> "$WORK/err" || fail "merge n1 n3: $(cat "$WORK/err")"
imp() { "$IOSIM_TRACE" to-text "$1" | grep '^#meta implies\.'; }
[ "$(imp "$WORK/n12.zst")" = "$(imp "$WORK/n1.zst")" ] || fail "merge of equal implies did not keep them"
diff <(imp "$WORK/n1.zst" | grep -v stride) <(imp "$WORK/n13.zst") > /dev/null ||
    fail "merge of different strides: $(imp "$WORK/n13.zst" | tr '\n' ' ')"

ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary was left"

finish
