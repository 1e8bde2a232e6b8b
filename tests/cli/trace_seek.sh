#!/usr/bin/env bash
# trace_seek.sh — seeking through the v2 block index and decoding blocks on
# threads (traces/FORMAT.md §8.5), on every shipped trace and a generated
# multi-block stream:
#   - `to-text --from N --count M` gives the M record lines that follow
#     line N of the plain `to-text` (the oracle: sed on the sequential
#     output), at block edges, both ends and places in between;
#   - `to-text --threads N` and `verify --threads N` give the plain output
#     byte for byte, also on damaged copies (same records first, same
#     one-line error, exit 2);
#   - an iosim replay with spare threads (one configuration, --threads 3:
#     two decode blocks) gives the --threads 1 report;
#   - seeking a v1 or text trace, past the end, or a file without its index
#     or with a bad one: one line naming the file, exit 2.
. "${SRC:?}/tests/cli/lib/common.sh"
recs() { grep -v '^#' || true; }

"$IOSIM_TRACE" gen random --window 1M --size 64 --dir read --count 200000 \
    --page-size 4K --no-marks -o "$WORK/random.zst" || fail "gen random"
for t in "$SRC"/traces/*.zst "$WORK/random.zst"; do
    b=$(basename "$t" .zst)
    "$IOSIM_TRACE" to-text "$t" > "$WORK/all.txt" || { fail "$b: to-text"; continue; }
    recs < "$WORK/all.txt" > "$WORK/all.rec"
    n=$(wc -l < "$WORK/all.rec")
    "$IOSIM_TRACE" to-text --threads 3 "$t" > "$WORK/par.txt" || fail "$b: to-text --threads 3"
    cmp -s "$WORK/all.txt" "$WORK/par.txt" || fail "$b: --threads 3 decodes other records"
    [ "$("$IOSIM_TRACE" verify --threads 2 "$t")" = "$("$IOSIM_TRACE" verify "$t")" ] ||
        fail "$b: verify --threads 2 differs"
    for at in 0 $((n / 2 + 7)) $((n - 1)) "$n" 65535 65536 131072; do
        [ "$at" -le "$n" ] || continue
        "$IOSIM_TRACE" to-text "$t" --from "$at" --count 9 > "$WORK/s.txt" 2> "$WORK/e" && recs < "$WORK/s.txt" > "$WORK/s.rec" ||
            { fail "$b: --from $at: $(cat "$WORK/e")"; continue; }
        sed -n "$((at + 1)),$((at + 9))p" "$WORK/all.rec" | cmp -s - "$WORK/s.rec" ||
            fail "$b: --from $at gives other records"
    done
    "$IOSIM_TRACE" to-text "$t" --from "$((n + 1))" > /dev/null 2> "$WORK/e"
    [ $? = 2 ] && [ "$(wc -l < "$WORK/e")" = 1 ] && grep -q "the trace has $n records" "$WORK/e" ||
        fail "$b: --from past the end: $(cat "$WORK/e")"
done

# the replay: spare threads decode ahead, same report
t=$WORK/random.zst
"$IOSIM" --config "$SRC/configs/vtd.yaml" --no-progress --threads 1 "$t" > "$WORK/r1" || fail "replay --threads 1"
"$IOSIM" --config "$SRC/configs/vtd.yaml" --no-progress --threads 3 "$t" > "$WORK/r3" || fail "replay --threads 3"
cmp -s "$WORK/r1" "$WORK/r3" || fail "replay: --threads 3 (decoding ahead) differs from --threads 1"

# damaged copies: the same records and the same one line with threads
size=$(stat -c %s "$t")
head -c $((size * 2 / 3)) "$t" > "$WORK/cut.zst"
head -c $((size - 20)) "$t" > "$WORK/noindex.zst"
cp "$t" "$WORK/flip.zst"
printf '\x55' | dd of="$WORK/flip.zst" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
for d in cut noindex flip; do
    "$IOSIM_TRACE" to-text "$WORK/$d.zst" > "$WORK/d1" 2> "$WORK/d1e"; r1=$?
    "$IOSIM_TRACE" to-text --threads 4 "$WORK/$d.zst" > "$WORK/d4" 2> "$WORK/d4e"; r4=$?
    [ $r1 = 2 ] && [ $r4 = 2 ] || fail "$d: exit $r1 and $r4, 2 expected"
    cmp -s "$WORK/d1" "$WORK/d4" && cmp -s "$WORK/d1e" "$WORK/d4e" ||
        fail "$d: --threads 4 differs: $(cat "$WORK/d4e")"
    [ "$(wc -l < "$WORK/d1e")" = 1 ] || fail "$d: not one line: $(cat "$WORK/d1e")"
done

# seeks that cannot be: one line, exit 2
seek_err() { # FILE PATTERN
    "$IOSIM_TRACE" to-text "$1" --from 3 > /dev/null 2> "$WORK/e"
    [ $? = 2 ] && [ "$(wc -l < "$WORK/e")" = 1 ] && grep -q "$1: .*$2" "$WORK/e" ||
        fail "seek in $(basename "$1"): $(cat "$WORK/e")"
}
seek_err "$WORK/noindex.zst" "no block index"
"$IOSIM_TRACE" convert "$t" --format v1 -o "$WORK/v1.zst" || fail "convert v1"
seek_err "$WORK/v1.zst" "format v1 trace has no block index"
"$IOSIM_TRACE" to-text "$SRC/traces/redis-strict.zst" -o "$WORK/text.txt" || fail "to-text -o"
seek_err "$WORK/text.txt" "text form has no block index"
# the footer's record count one too high: bad index
cp "$t" "$WORK/badix.zst"
lo=$(od -An -tu1 -j $((size - 16)) -N1 "$t" | tr -d ' ')
printf "\\x$(printf %02x $(((lo + 1) % 256)))" |
    dd of="$WORK/badix.zst" bs=1 seek=$((size - 16)) conv=notrunc 2>/dev/null
seek_err "$WORK/badix.zst" "bad index"

finish
