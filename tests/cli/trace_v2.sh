#!/usr/bin/env bash
# trace_v2.sh — trace format v2 against v1 (traces/FORMAT.md §6, §8) on
# every shipped trace and on a generated random stream: each trace is
# rewritten in both versions with `iosim-trace convert`, and
#   - v2 gives the records and metadata of the original (to-text), and
#     the v1 and v2 copies the same replay report, byte for byte (iosim,
#     default config);
#   - v1 -> v2 -> v1 gives the same decompressed v1 bytes;
#   - `iosim-trace verify` counts the record lines of the text form;
#   - v2 is no larger than v1 (but for the traces of a few records, where
#     the header, block header and index frames cost at most 96 bytes);
#   - the first four bytes say the version (FORMAT.md §1).
# The expected values come from the other version of the same trace or
# from grep, never from the program under test alone.
. "${SRC:?}/tests/cli/lib/common.sh"
command -v zstd >/dev/null || { echo "trace_v2.sh: needs the zstd program"; exit 1; }
magic() { od -An -tx1 -N4 "$1" | tr -d ' \n'; }

"$IOSIM_TRACE" gen random --window 1M --size 64 --dir read --count 200000 \
    --page-size 4K --no-marks -o "$WORK/random.zst" || fail "gen random"
n=0
for t in "$SRC"/traces/*.zst "$WORK/random.zst"; do
    b=$(basename "$t" .zst)
    v1=$WORK/$b.v1.zst v2=$WORK/$b.v2.zst
    "$IOSIM_TRACE" convert "$t" --format v1 -o "$v1" || { fail "$b: convert to v1"; continue; }
    "$IOSIM_TRACE" convert "$v1" -o "$v2" || { fail "$b: convert to v2"; continue; }
    [ "$(magic "$v1")" = 28b52ffd ] || fail "$b: v1 starts with $(magic "$v1")"
    [ "$(magic "$v2")" = 502a4d18 ] || fail "$b: v2 starts with $(magic "$v2")"
    "$IOSIM_TRACE" convert "$v2" --format v1 -o "$WORK/$b.v1again.zst" || fail "$b: v2 -> v1"
    cmp -s <(zstd -dc "$v1") <(zstd -dc "$WORK/$b.v1again.zst") || fail "$b: v1 -> v2 -> v1 differs"
    "$IOSIM_TRACE" to-text "$t" > "$WORK/a.txt" || fail "$b: to-text"
    "$IOSIM_TRACE" to-text "$v2" > "$WORK/c.txt" || fail "$b: to-text v2"
    # (v1 holds the same: v1 -> v2 -> v1 above gave the same bytes)
    cmp -s "$WORK/a.txt" "$WORK/c.txt" || fail "$b: v2 holds other records or metadata"
    nrec=$(grep -c '^[A-Z]' "$WORK/a.txt")
    [ "$("$IOSIM_TRACE" verify "$v2")" = "$v2: $nrec records, format v2" ] ||
        fail "$b: verify v2: $("$IOSIM_TRACE" verify "$v2" 2>&1)"
    s1=$(stat -c %s "$v1") s2=$(stat -c %s "$v2")
    if [ "$nrec" -ge 1000 ]; then
        [ "$s2" -le "$s1" ] || fail "$b: v2 has $s2 bytes, v1 $s1"
    else
        [ "$s2" -le $((s1 + 96)) ] || fail "$b: v2 has $s2 bytes, v1 $s1 (small trace)"
    fi
    # the reports without their provenance (the file's path, size and hash)
    "$IOSIM" --no-progress "$v1" > "$WORK/r1.all" 2>&1 || fail "$b: replay v1"
    "$IOSIM" --no-progress "$v2" > "$WORK/r2.all" 2>&1 || fail "$b: replay v2"
    grep -v '^# \(command\|provenance\): ' "$WORK/r1.all" > "$WORK/r1.txt"
    grep -v '^# \(command\|provenance\): ' "$WORK/r2.all" > "$WORK/r2.txt"
    cmp -s "$WORK/r1.txt" "$WORK/r2.txt" || fail "$b: replay reports differ: $(diff "$WORK/r1.txt" "$WORK/r2.txt" | head -3)"
    n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "only $n traces compared"

# convert's own errors: one line, exit 2, no output
"$IOSIM_TRACE" convert "$WORK/random.zst" --format v3 -o "$WORK/x.zst" 2> "$WORK/err"
[ $? -eq 2 ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] && grep -q -- "--format 'v3'" "$WORK/err" &&
    [ ! -e "$WORK/x.zst" ] || fail "convert --format v3: $(cat "$WORK/err")"
"$IOSIM_TRACE" convert "$WORK/random.zst" 2> /dev/null
[ $? -eq 2 ] || fail "convert without -o: want exit 2"
finish "$n traces"
