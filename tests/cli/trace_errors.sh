#!/usr/bin/env bash
# trace_errors.sh — iosim-trace to-text / from-text / stat on good and bad
# traces.  Expected values come from the files themselves (grep -c, awk) or
# from FORMAT.md written out by hand, never from the program's output.
# Env: IOSIM_TRACE (program), SRC (source dir), WORK (scratch dir).
. "${SRC:?}/tests/cli/lib/common.sh"
command -v zstd >/dev/null || { echo "trace_errors.sh: needs the zstd program"; exit 1; }
DATA=$SRC/tests/data

# ---------------------------------------------------------------- inputs
# Header bytes of FORMAT.md §2: magic, version, record_size, meta_len (LE).
hdr() { printf 'IOSIMTRC'; printf "$1"; printf "$2"; printf '\000\000\000\000'; }
V1='\001\000\000\000'; RS48='\060\000\000\000'
# A 48-byte record of kind $1 (octal escape), every other byte zero.
rec() { head -c 40 /dev/zero; printf "$1"; head -c 7 /dev/zero; }

printf '\177ELF\002\001\001\000garbage' > "$WORK/garbage.bin"
: > "$WORK/empty.txt"
mkdir -p "$WORK/a_directory.zst"
printf 'hello, this is zstd data but not an iosim trace\n' | zstd -q -c > "$WORK/other.zst"
hdr '\002\000\000\000' "$RS48" | zstd -q -c > "$WORK/version2.zst"
hdr "$V1" '\050\000\000\000' | zstd -q -c > "$WORK/recsize40.zst"
{ hdr "$V1" "$RS48"; rec '\001'; rec '\011'; } | zstd -q -c > "$WORK/kind9.zst"
{ hdr "$V1" "$RS48"; rec '\001'; head -c 30 /dev/zero; } | zstd -q -c > "$WORK/partial.zst"
printf '# iosim-trace text v1\nMAP t=1\n\nMAP t=2 colour=red\n' > "$WORK/badfield.txt"
printf '# iosim-trace text v1\n#meta cpus=2\nREMAP t=1\n' > "$WORK/badkind.txt"
printf '# iosim-trace text v1\nDMA t=1 size=0x1g\n' > "$WORK/badvalue.txt"
printf '# iosim-trace text v2\n' > "$WORK/textv2.txt"

# A trace big enough for several zstd blocks, then cut and corrupted copies.
awk 'BEGIN { srand(7); for (i = 0; i < 4000; i++)
       printf "MAP t=%d cpu=%d iova=0x%x size=%d phys=0x%x\n", i * 1000 + int(rand() * 999),
              int(rand() * 8), int(rand() * 4294967295), 4096 * (1 + int(rand() * 16)),
              int(rand() * 4294967295) }' |
    { echo '# iosim-trace text v1'; cat; } > "$WORK/big.txt"
"$IOSIM_TRACE" from-text "$WORK/big.txt" -o "$WORK/big.zst" || fail "from-text big.txt"
size=$(stat -c %s "$WORK/big.zst")
head -c $((size / 2)) "$WORK/big.zst" > "$WORK/cut.zst"
cp "$WORK/big.zst" "$WORK/corrupt.zst"
printf '\125\125\125\125\125\125\125\125\125\125\125\125\125\125\125\125' |
    dd of="$WORK/corrupt.zst" bs=1 seek=$((size / 2)) conv=notrunc status=none

# ------------------------------------------------------ bad inputs: to-text
# expect_bad FILE WORD: exit 2, exactly one stderr line naming FILE and
# containing WORD, no output file and no temporary left behind.
expect_bad() {
    local in=$1 word=$2 out=$WORK/out.txt
    rm -f "$out" "$WORK/err"
    "$IOSIM_TRACE" to-text "$in" -o "$out" 2>"$WORK/err"
    local rc=$?
    [ "$rc" -eq 2 ] || fail "to-text $(basename "$in"): exit $rc, want 2"
    [ "$(wc -l < "$WORK/err")" -eq 1 ] || fail "to-text $(basename "$in"): stderr not one line: $(cat "$WORK/err")"
    grep -qF "$(basename "$in")" "$WORK/err" || fail "to-text $(basename "$in"): stderr lacks the file name: $(cat "$WORK/err")"
    grep -qF -- "$word" "$WORK/err" || fail "to-text $(basename "$in"): stderr lacks '$word': $(cat "$WORK/err")"
    [ ! -e "$out" ] || fail "to-text $(basename "$in"): $out exists"
    ! ls "$out".tmp.* >/dev/null 2>&1 || fail "to-text $(basename "$in"): temporary file left"
    # the simulator reads traces through the same library: same contract
    if [ -n "${IOSIM:-}" ]; then
        rm -f "$out" "$WORK/err"
        "$IOSIM" --no-progress -o "$out" "$in" 2>"$WORK/err"
        rc=$?
        [ "$rc" -eq 2 ] || fail "iosim $(basename "$in"): exit $rc, want 2"
        [ "$(wc -l < "$WORK/err")" -eq 1 ] || fail "iosim $(basename "$in"): stderr not one line: $(cat "$WORK/err")"
        grep -qF "$(basename "$in")" "$WORK/err" || fail "iosim $(basename "$in"): stderr lacks the file name"
        grep -qF -- "$word" "$WORK/err" || fail "iosim $(basename "$in"): stderr lacks '$word'"
        [ ! -e "$out" ] || fail "iosim $(basename "$in"): $out exists"
    fi
}
expect_bad "$WORK/missing.zst"      "No such file"
expect_bad "$WORK/garbage.bin"      "not a zstd trace"
expect_bad "$WORK/empty.txt"        "empty"
expect_bad "$WORK/a_directory.zst"  "directory"
expect_bad "$WORK/other.zst"        "magic"
expect_bad "$WORK/version2.zst"     "version 2"
expect_bad "$WORK/recsize40.zst"    "record_size 40"
expect_bad "$WORK/kind9.zst"        "record 1: unknown kind 9"
expect_bad "$WORK/partial.zst"      "truncated after 1 records"
expect_bad "$WORK/cut.zst"          "truncated"
expect_bad "$WORK/corrupt.zst"      "corrupt"
expect_bad "$WORK/badfield.txt"     "badfield.txt:4: unknown field 'colour'"
expect_bad "$WORK/badkind.txt"      "badkind.txt:3: unknown record kind 'REMAP'"
expect_bad "$WORK/badvalue.txt"     "badvalue.txt:2: size=0x1g: malformed value"
expect_bad "$WORK/textv2.txt"       "textv2.txt:1: unsupported"

# from-text and stat refuse the same way (stat prints nothing on stdout)
rm -f "$WORK/o.zst"
"$IOSIM_TRACE" from-text "$WORK/badfield.txt" -o "$WORK/o.zst" 2>/dev/null
[ $? -eq 2 ] && [ ! -e "$WORK/o.zst" ] || fail "from-text badfield.txt: want exit 2 and no output"
"$IOSIM_TRACE" stat "$WORK/cut.zst" > "$WORK/stat.out" 2>/dev/null
[ $? -eq 2 ] && [ ! -s "$WORK/stat.out" ] || fail "stat cut.zst: want exit 2 and empty stdout"
"$IOSIM_TRACE" from-text "$DATA/trace_small.txt" 2>/dev/null
[ $? -eq 2 ] || fail "from-text without -o: want exit 2"

# -------------------------------------------------- round trips of tests/data
# Normalized text: the header, the #meta lines and the record lines, without
# other comments and blank lines (the data files are written normalized,
# except trace_loose.txt whose normalized form follows, derived by hand
# from FORMAT.md §5.3; it does not say has_dma and has a DMA record, so
# has_dma=1, §3).
ntraces=0
normalize() { awk 'NR == 1 || /^#meta / || (!/^#/ && !/^[ \t]*$/)' "$1"; }
cat > "$WORK/trace_loose.norm" <<'EOF'
# iosim-trace text v1
#meta source=
#meta kernel=
#meta policy=
#meta workload=memcached
#meta cpus=0
#meta time_unit=ns
#meta has_dma=1
#meta requests=0
MAP t=10 cpu=0 dev=01:00.0 dom=0 pasid=0 iova=0xffff0000 size=8192 phys=0x0 prot=r
UNMAP t=20 cpu=0 dev=00:00.0 dom=0 pasid=0 iova=0xffff0000 size=8192
DMA t=15 dev=00:00.0 pasid=0 iova=0xffff0000 size=64 dir=read
INVAL t=30 cpu=0 desc=devtlb gran=page dom=0 dev=01:00.0 pasid=0 addr=0xffff0000 am=0 ih=0 qw0=0x10000000003
MARK t=0 cpu=0 id=0 type=begin
EOF
for f in "$DATA"/*.txt; do
    # tests/data also holds inputs of other tools (ftrace captures ...)
    [ "$(head -n 1 "$f")" = '# iosim-trace text v1' ] || continue
    b=$(basename "$f" .txt)
    if [ -e "$WORK/$b.norm" ]; then want=$WORK/$b.norm; else normalize "$f" > "$WORK/$b.norm"; want=$WORK/$b.norm; fi
    "$IOSIM_TRACE" from-text "$f" -o "$WORK/$b.zst" || { fail "from-text $b"; continue; }
    ntraces=$((ntraces + 1))
    "$IOSIM_TRACE" to-text "$WORK/$b.zst" -o "$WORK/$b.out.txt" || { fail "to-text $b"; continue; }
    diff -u "$want" "$WORK/$b.out.txt" || fail "$b: text -> binary -> text differs"
    "$IOSIM_TRACE" to-text "$WORK/$b.zst" | cmp -s - "$WORK/$b.out.txt" || fail "$b: to-text on stdout differs from -o"
    # binary -> text -> binary: the same file (one writer, one libzstd)
    "$IOSIM_TRACE" from-text "$WORK/$b.out.txt" -o "$WORK/$b.again.zst" || fail "from-text $b.out.txt"
    cmp -s "$WORK/$b.zst" "$WORK/$b.again.zst" || fail "$b: binary -> text -> binary differs"
    # format v1 (FORMAT.md §2): 20-byte header + meta block + 48 per record
    # line; and back to v2, the same file (§6)
    "$IOSIM_TRACE" convert "$WORK/$b.zst" --format v1 -o "$WORK/$b.v1.zst" || fail "convert $b to v1"
    nrec=$(grep -c '^[[:space:]]*[A-Z]' "$f")
    meta=$(zstd -dc "$WORK/$b.v1.zst" | head -c 20 | tail -c 4 | od -An -tu4 | tr -d ' ')
    [ "$(zstd -dc "$WORK/$b.v1.zst" | wc -c)" -eq $((20 + meta + 48 * nrec)) ] || fail "$b: decompressed size"
    "$IOSIM_TRACE" convert "$WORK/$b.v1.zst" -o "$WORK/$b.v2.zst" || fail "convert $b to v2"
    cmp -s "$WORK/$b.zst" "$WORK/$b.v2.zst" || fail "$b: v2 -> v1 -> v2 differs"
done

# ------------------------------------------------------------------- stat
t=$DATA/trace_small.txt
"$IOSIM_TRACE" stat "$t" > "$WORK/stat.txt" || fail "stat trace_small.txt"
val() { awk -v k="$1" '$1 == k { print $3 }' "$WORK/stat.txt"; }
check() { [ "$(val "$1")" = "$2" ] || fail "stat $1 = '$(val "$1")', want $2"; }
check records.total "$(grep -c '^[A-Z]' "$t")"
check records.map   "$(grep -c '^MAP ' "$t")"
check records.unmap "$(grep -c '^UNMAP ' "$t")"
check records.dma   "$(grep -c '^DMA ' "$t")"
check records.inval "$(grep -c '^INVAL ' "$t")"
check records.mark  "$(grep -c '^MARK ' "$t")"
check inval.iotlb   "$(grep -c '^INVAL .* desc=iotlb ' "$t")"
check inval.devtlb  "$(grep -c '^INVAL .* desc=devtlb ' "$t")"
check mark.request  "$(grep -c '^MARK .* type=request' "$t")"
check time.duration "$(grep -o ' t=[0-9]*' "$t" | cut -d= -f2 | sort -n | sed -n '1p;$p' | paste -sd' ' | awk '{ print $2 - $1 }')"
# map sizes 4096, 4096, 4096, 65536: buckets [4096, 8191] and [65536, 131071]
check 'map_size[4096..8191]' 3
check 'map_size[65536..131071]' 1
# live mappings peak in packet 2: 4096 + 4096 + 65536 bytes in 3 mappings
check live.peak_bytes 73728
check live.peak_count 3
check live.end_count 0
check check.unmatched_unmaps 0
# the binary form gives the same report (but for the file name line)
"$IOSIM_TRACE" stat "$WORK/trace_small.zst" | tail -n +2 > "$WORK/stat_bin.txt"
tail -n +2 "$WORK/stat.txt" | diff - "$WORK/stat_bin.txt" || fail "stat text vs binary differ"
"$IOSIM_TRACE" stat "$t" --format json > "$WORK/stat.json" || fail "stat --format json"
grep -q "\"map\": $(grep -c '^MAP ' "$t")," "$WORK/stat.json" || fail "stat json lacks the map count"
"$IOSIM_TRACE" stat "$t" --format csv >/dev/null 2>&1
[ $? -eq 2 ] || fail "stat --format csv: want exit 2"

# a record claiming more than the model's 64 GiB (sim.c SIM_REC_SIZE_MAX;
# its work is per 4 KB page, so 2^64 bytes would run for days): one line,
# exit 2, at once
printf '# iosim-trace text v1\nMAP t=0 cpu=0 dev=01:00.0 dom=1 iova=0x1000 size=4096 phys=0x5000 prot=rw\nUNMAP t=10 cpu=0 dev=01:00.0 dom=1 iova=0x1000 size=0xffffffffffffffff\n' \
    > "$WORK/hugesize.txt"
timeout 60 "$IOSIM" --no-progress "$WORK/hugesize.txt" > /dev/null 2> "$WORK/hugesize.err"
rc=$?
[ $rc -eq 2 ] || fail "hugesize: exit $rc, want 2"
# the message names the trace, the line of a text trace (the UNMAP is line
# 3: header, MAP, UNMAP) and the record (numbered from 0, FORMAT.md §4)
[ "$(wc -l < "$WORK/hugesize.err")" -eq 1 ] && grep -q "hugesize.txt:3: strict: record 1 (t=10): size 0xffffffffffffffff is larger than the 64 GiB" "$WORK/hugesize.err" ||
    fail "hugesize: message: $(head -c 200 "$WORK/hugesize.err")"
# a binary trace has no lines: the record number alone
"$IOSIM_TRACE" from-text "$WORK/hugesize.txt" -o "$WORK/hugesize.zst" || fail "hugesize: from-text"
timeout 60 "$IOSIM" --no-progress "$WORK/hugesize.zst" > /dev/null 2> "$WORK/hugesize_bin.err"
rc=$?
[ $rc -eq 2 ] && grep -q "hugesize.zst: strict: record 1 (t=10): size" "$WORK/hugesize_bin.err" ||
    fail "hugesize binary: exit $rc, $(head -c 200 "$WORK/hugesize_bin.err")"

# a record held back (a map over a live one may wait for an unmap of the
# same time, system/reorder.h) fails only when the trace ends: the message still names
# the trace, its line (6: header, meta, blank, first MAP, comment, this MAP;
# checked below) and the sim, like any record's
printf '# iosim-trace text v1\n#meta cpus=1\n\nMAP t=10 cpu=0 dev=01:00.0 dom=6 iova=0x1000 size=4096 phys=0x2000 prot=rw\n# the same IOVA again, never unmapped\nMAP t=20 cpu=0 dev=01:00.0 dom=6 iova=0x1000 size=4096 phys=0x3000 prot=rw\n' \
    > "$WORK/held.txt"
line=$(grep -n '^MAP t=20' "$WORK/held.txt" | cut -d: -f1)
[ "$line" = 6 ] || fail "held: test input has the second MAP on line $line"
"$IOSIM" --no-progress "$WORK/held.txt" > /dev/null 2> "$WORK/held.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$WORK/held.err")" -eq 1 ] &&
    grep -q "held.txt:6: strict: record 1 (t=20): map of iova 0x1000" "$WORK/held.err" ||
    fail "held: exit $rc, $(head -c 300 "$WORK/held.err")"

# has_dma (FORMAT.md §3): a hand-written text trace that does not say it
# and has a DMA record replays that record and synthesizes nothing (1
# request, written out here: one DMA line); one that says has_dma=0 and has
# a DMA record is bad input (record 1, numbered from 0, on line 4), not a
# double count
dmab='MAP t=0 dom=6 iova=0x1000 size=4096 phys=0x5000 prot=rw\nDMA t=1 iova=0x1000 size=64 dir=write\nUNMAP t=2 dom=6 iova=0x1000 size=4096\n'
printf "# iosim-trace text v1\n$dmab" > "$WORK/dma_unsaid.txt"
printf "# iosim-trace text v1\n#meta has_dma=0\n$dmab" > "$WORK/dma_denied.txt"
"$IOSIM" --no-progress --set sim.window_only=false --format csv "$WORK/dma_unsaid.txt" \
    > "$WORK/dma_unsaid.csv" || fail "dma_unsaid: exit $?"
got=$(awk -F, '$1=="stat" && ($3=="dma.requests" || $3=="dma.synthesized") {printf "%s=%s ", $3, $4}' "$WORK/dma_unsaid.csv")
[ "$got" = "dma.requests=1 dma.synthesized=0 " ] || fail "dma_unsaid: $got"
"$IOSIM" --no-progress "$WORK/dma_denied.txt" > /dev/null 2> "$WORK/dma_denied.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$WORK/dma_denied.err")" -eq 1 ] &&
    grep -q "dma_denied.txt:4: strict: record 1 (t=1): a DMA record in a trace whose metadata says has_dma=0" "$WORK/dma_denied.err" ||
    fail "dma_denied: exit $rc, $(head -c 300 "$WORK/dma_denied.err")"

# an output naming an input is refused before anything is written: the
# input stays as it was (exit 2, one line)
cp "$WORK/big.zst" "$WORK/self.zst"
ln -sf self.zst "$WORK/self-link.zst"
for cmd in "to-text $WORK/self.zst -o $WORK/self.zst" \
           "from-text $WORK/big.txt -o $WORK/big.txt" \
           "to-text $WORK/self-link.zst -o $WORK/self.zst"; do
    $IOSIM_TRACE $cmd > /dev/null 2> "$WORK/self.err"
    rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$WORK/self.err")" -eq 1 ] &&
        grep -q ": is the input " "$WORK/self.err" ||
        fail "$cmd: exit $rc, $(head -c 200 "$WORK/self.err")"
done
cmp -s "$WORK/self.zst" "$WORK/big.zst" || fail "to-text -o its input changed it"
head -1 "$WORK/big.txt" | grep -q '^# iosim-trace text v1' || fail "from-text -o its input changed it"
printf 'x\n' > "$WORK/guest.txt"
$IOSIM_TRACE import qemu "$WORK/guest.txt" --guest "$WORK/guest.txt" -o "$WORK/guest.txt" \
    > /dev/null 2> "$WORK/self.err"
[ $? -eq 2 ] && grep -q ": is the input " "$WORK/self.err" && [ "$(cat "$WORK/guest.txt")" = x ] ||
    fail "import -o its input: $(head -c 200 "$WORK/self.err")"

# a time unit other than ns would scale every time silently: refused
printf '# iosim-trace text v1\n#meta time_unit=us\nMAP t=0 iova=0x1000 size=4096 phys=0x1000\n' > "$WORK/us.txt"
"$IOSIM" --no-progress "$WORK/us.txt" > /dev/null 2> "$WORK/us.err"
[ $? -eq 2 ] && grep -q "us.txt:2: metadata time_unit=us: version 1 traces are in ns" "$WORK/us.err" ||
    fail "time_unit=us: $(head -c 200 "$WORK/us.err")"
# an empty output name is bad input, and leaves no temporary behind
(cd "$WORK" && "$IOSIM_TRACE" to-text "$WORK/big.zst" -o '' > /dev/null 2> "$WORK/empty-o.err")
[ $? -eq 2 ] && grep -q "an empty file name" "$WORK/empty-o.err" &&
    ! ls -a "$WORK" | grep -q '^\.tmp\.' || fail "-o '': $(head -c 200 "$WORK/empty-o.err")"

# an input the importer finds nothing in (empty, junk, an iosim trace) is
# bad input, not an empty trace; so is a --policy no kernel has
for f in "$WORK/empty.txt" "$WORK/garbage.bin" "$WORK/big.zst"; do
    rm -f "$WORK/imported.zst"
    $IOSIM_TRACE import ftrace "$f" -o "$WORK/imported.zst" > /dev/null 2> "$WORK/imp.err"
    rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$WORK/imp.err")" -eq 1 ] &&
        grep -qF -e "$f: " "$WORK/imp.err" && [ ! -e "$WORK/imported.zst" ] ||
        fail "import ftrace $f: exit $rc, $(head -c 200 "$WORK/imp.err")"
done
$IOSIM_TRACE import ftrace "$DATA/ftrace-redis-strict.txt" --policy bogus \
    -o "$WORK/imported.zst" > /dev/null 2> "$WORK/imp.err"
[ $? -eq 2 ] && grep -q -e "--policy 'bogus'" "$WORK/imp.err" && [ ! -e "$WORK/imported.zst" ] ||
    fail "import --policy bogus: $(head -c 200 "$WORK/imp.err")"

. "$SRC/tests/cli/lib/signal.sh"
# a killed iosim-trace (SIGTERM while it writes) removes its temporary and
# leaves no output: exit 143 (128 + SIGTERM)
"$IOSIM_TRACE" gen random --window 64M --size 4K --dir write --count 50000000 \
    --page-size 4K -o "$WORK/killed.zst" 2> /dev/null &
term_when_temp 'killed\.zst\.tmp\.' $!; rc=$term_rc
[ "$rc" = 143 ] || fail "killed gen: exit $rc, want 143"
ls "$WORK" | grep -q 'killed\.zst' && fail "killed gen: $(ls "$WORK" | grep killed) left"

[ "$ntraces" -ge 3 ] || fail "only $ntraces iosim text traces found in $DATA"
finish
