#!/usr/bin/env bash
# gen.sh — iosim-trace gen: generated traces replay in iosim, and bad
# options fail cleanly.  Expected values come from the command line we
# pass (--count, --window / page size) or from counting lines of the text
# form with grep, never from the program's own summary.
# Env: IOSIM, IOSIM_TRACE (programs), SRC (source dir), WORK (scratch dir).
. "${SRC:?}/tests/cli/lib/common.sh"

# Value of a counter from the JSON report: "name": 123
json_value() { grep -o "\"$1\": [0-9]*" "$2" | head -n 1 | sed 's/.*: //'; }

# ------------------------------------------------------------ gen random
COUNT=3000
"$IOSIM_TRACE" gen random --window 2M --size 256 --dir write --count $COUNT \
    --page-size 4K --seed 7 -o "$WORK/rand.zst" || fail "gen random exited $?"
[ -f "$WORK/rand.zst" ] || fail "gen random wrote no file"
ls "$WORK"/rand.zst.tmp.* >/dev/null 2>&1 && fail "gen random left a temp file"

"$IOSIM" --config "$SRC/configs/vtd.yaml" --no-progress --format json \
    "$WORK/rand.zst" > "$WORK/rand.json" 2> "$WORK/rand.err" ||
    fail "iosim on the random trace exited $?: $(cat "$WORK/rand.err")"
got=$(json_value dma.requests "$WORK/rand.json")
[ "$got" = "$COUNT" ] || fail "dma.requests = '$got', expected $COUNT"
got=$(json_value trace.requests "$WORK/rand.json")
[ "$got" = "$COUNT" ] || fail "trace.requests = '$got', expected $COUNT"

# The text form: 2M / 4K = 512 MAP lines, COUNT DMA lines, every DMA 256 B
# at a 256-aligned IOVA inside [0x100000000, 0x100200000).
"$IOSIM_TRACE" to-text "$WORK/rand.zst" > "$WORK/rand.txt" || fail "to-text"
n=$(grep -c '^MAP ' "$WORK/rand.txt"); [ "$n" = 512 ] || fail "MAP lines $n != 512"
n=$(grep -c '^UNMAP ' "$WORK/rand.txt"); [ "$n" = 512 ] || fail "UNMAP lines $n != 512"
n=$(grep -c '^DMA ' "$WORK/rand.txt"); [ "$n" = $COUNT ] || fail "DMA lines $n != $COUNT"
bad=$(grep '^DMA ' "$WORK/rand.txt" | sed 's/.* iova=\(0x[0-9a-f]*\) size=\([0-9]*\).*/\1 \2/' |
      while read -r iova size; do
          v=$((iova))
          if [ "$size" != 256 ] || [ $((v % 256)) != 0 ] ||
             [ $v -lt $((0x100000000)) ] || [ $((v + 256)) -gt $((0x100200000)) ]; then
              echo "$iova $size"
          fi
      done | head -n 3)
[ -z "$bad" ] || fail "DMA outside the window or misaligned: $bad"

# Same seed, same bytes; --text writes the text form.
"$IOSIM_TRACE" gen random --window 2M --size 256 --dir write --count $COUNT \
    --page-size 4K --seed 7 -o "$WORK/rand2.zst" || fail "second gen random"
cmp -s "$WORK/rand.zst" "$WORK/rand2.zst" || fail "same seed gave different traces"
"$IOSIM_TRACE" gen random --window 64K --count 5 --text -o "$WORK/small.txt" || fail "gen --text"
head -n 1 "$WORK/small.txt" | grep -q '^# iosim-trace text v1' || fail "--text did not write text"
# 64K / 4K = 16 pages mapped and unmapped, 5 DMAs of the default 64 B reads
got=$(awk '$1 == "MAP" { m++ } $1 == "UNMAP" { u++ }
           $1 == "DMA" { d++; if ($0 !~ / size=(0x40|64) / || $0 !~ / dir=read/) bad++ }
           END { print m + 0, u + 0, d + 0, bad + 0 }' "$WORK/small.txt")
[ "$got" = "16 16 5 0" ] || fail "--text: MAP, UNMAP, DMA, bad DMA lines $got, want 16 16 5 0"

# --------------------------------------------------------------- gen nic
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 1000 \
    -o "$WORK/nic.zst" || fail "gen nic exited $?"
"$IOSIM_TRACE" to-text "$WORK/nic.zst" > "$WORK/nic.txt" || fail "to-text nic"
maps=$(grep -c '^MAP ' "$WORK/nic.txt"); unmaps=$(grep -c '^UNMAP ' "$WORK/nic.txt")
[ "$maps" = "$unmaps" ] || fail "nic: $maps MAP vs $unmaps UNMAP"
n=$(grep -c 'type=request' "$WORK/nic.txt"); [ "$n" = 1000 ] || fail "nic: $n requests != 1000"
"$IOSIM" --config "$SRC/configs/vtd.yaml" --no-progress --format json \
    "$WORK/nic.zst" > "$WORK/nic.json" || fail "iosim on the nic trace exited $?"
got=$(json_value trace.requests "$WORK/nic.json")
[ "$got" = 1000 ] || fail "nic: trace.requests = '$got', expected 1000"

# ------------------------------------------------------------ bad input
expect_bad() { # name, then the gen arguments (output is $WORK/bad.zst)
    local name=$1; shift
    "$IOSIM_TRACE" gen "$@" > "$WORK/bad.out" 2> "$WORK/bad.err"
    local rc=$?
    [ $rc = 2 ] || fail "$name: exit $rc, expected 2"
    [ "$(wc -l < "$WORK/bad.err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$WORK/bad.err")"
    # a usage error: "iosim-trace gen KIND: ..." ("iosim-trace gen: ..." for
    # an unknown kind), as every iosim-trace command's (rough_edges.sh)
    local kind=$1
    [ "$name" = unknown-kind ] && kind=
    grep -q "^iosim-trace gen${kind:+ $kind}: " "$WORK/bad.err" ||
        fail "$name: stderr lacks 'iosim-trace gen${kind:+ $kind}: ': $(cat "$WORK/bad.err")"
    [ -s "$WORK/bad.out" ] && fail "$name: wrote to stdout"
    [ -e "$WORK/bad.zst" ] && fail "$name: left an output file"
    ls "$WORK"/bad.zst.tmp.* >/dev/null 2>&1 && fail "$name: left a temp file"
    rm -f "$WORK/bad.zst"
}
expect_bad unknown-option random --window 1M --bogus 1 -o "$WORK/bad.zst"
expect_bad bad-size random --window 1M --size 12Q -o "$WORK/bad.zst"
expect_bad size-gt-window random --window 4K --size 8K -o "$WORK/bad.zst"
expect_bad bad-page random --page-size 8K -o "$WORK/bad.zst"
expect_bad bad-dir random --dir sideways -o "$WORK/bad.zst"
expect_bad missing-value random --count -o "$WORK/bad.zst"
expect_bad no-output random --count 5
expect_bad unknown-kind sequential -o "$WORK/bad.zst"
expect_bad nic-both-stops nic --packets 5 --duration 1 -o "$WORK/bad.zst"
expect_bad nic-ppd nic --mtu 9000 --pages-per-descriptor 2 -o "$WORK/bad.zst"
expect_bad nic-rx-cache-3 nic --rx-cache 3 -o "$WORK/bad.zst"
expect_bad nic-rx-cache-neg nic --rx-cache -1 -o "$WORK/bad.zst"
grep -q -- '--rx-cache' "$WORK/bad.err" || fail "nic-rx-cache-neg: error does not name --rx-cache"
expect_bad nic-unmap-ns-neg nic --unmap-ns -1 -o "$WORK/bad.zst"
expect_bad nic-unmap-ns-word nic --unmap-ns fast -o "$WORK/bad.zst"
expect_bad nic-rq-sizing nic --rq-sizing linear -o "$WORK/bad.zst"
expect_bad nic-channels nic --flows 4 --cpus 4 --channels 2 -o "$WORK/bad.zst"

# --rq-sizing packets is the default: the same bytes as without the option
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 500 \
    --rq-sizing packets -o "$WORK/ncp.zst" || fail "gen nic --rq-sizing packets"

# --rx-cache 0 (off) gives the same bytes as no --rx-cache
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 500 \
    -o "$WORK/nc.zst" || fail "gen nic (no --rx-cache)"
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 500 \
    --rx-cache 0 --app-lag 9 -o "$WORK/nc0.zst" || fail "gen nic --rx-cache 0"
cmp -s "$WORK/nc.zst" "$WORK/nc0.zst" || fail "--rx-cache 0 changed the trace"
cmp -s "$WORK/nc.zst" "$WORK/ncp.zst" || fail "--rq-sizing packets changed the trace"
"$IOSIM_TRACE" gen nic --flows 2 --cpus 2 --ring 64 --packets 500 \
    --unmap-ns 0 -o "$WORK/nu0.zst" || fail "gen nic --unmap-ns 0"
cmp -s "$WORK/nc.zst" "$WORK/nu0.zst" || fail "--unmap-ns 0 changed the trace"

"$IOSIM_TRACE" gen --help | grep -q '^  random ' || fail "gen --help does not list random"
"$IOSIM_TRACE" gen --help | grep -q '^  nic ' || fail "gen --help does not list nic"
"$IOSIM_TRACE" gen nic --help | grep -q -- '--ack-every' || fail "gen nic --help lacks --ack-every"
"$IOSIM_TRACE" gen nic --help | grep -q -- '--rx-cache' || fail "gen nic --help lacks --rx-cache"
"$IOSIM_TRACE" gen nic --help | grep -q -- '--unmap-ns' || fail "gen nic --help lacks --unmap-ns"
for o in --stagger-polls --stagger-wqes --burst --stride --queue-per-cpu; do
    "$IOSIM_TRACE" gen nic --help | grep -q -- "$o" || fail "gen nic --help lacks $o"
done

finish
