#!/usr/bin/env bash
# list_stats.sh — iosim --list-stats names every metric a report holds
# (the README points there instead of listing them):
# checked against the rows of a real CSV report (section, name), one line
# each, with a unit and a description.
. "${SRC:?}/tests/cli/lib/common.sh"
"$IOSIM" --list-stats > "$WORK/list.tsv" || fail "--list-stats exit $?"
grep -v '^#' "$WORK/list.tsv" | awk -F'\t' 'NF != 4 || $3 == "" || $4 == "" { print; bad++ } END { exit bad > 0 }' \
    || fail "a line is not section, name, unit, description"
grep -v '^#' "$WORK/list.tsv" | cut -f1,2 | sort > "$WORK/listed"
"$IOSIM" --no-progress --format csv "$SRC/traces/redis-strict-pcap-qemu.zst" |
    awk -F, '$1 ~ /^(stat|derived|warning|summary)$/ { print $1 "\t" $3 }' | sort -u > "$WORK/reported"
diff "$WORK/listed" "$WORK/reported" > "$WORK/diff" || fail "listed and reported metrics differ: $(head -5 "$WORK/diff")"
[ "$(wc -l < "$WORK/listed")" -gt 100 ] || fail "only $(wc -l < "$WORK/listed") metrics listed"
[ "$(sort "$WORK/listed" | uniq -d | wc -l)" -eq 0 ] || fail "a metric listed twice"
grep -q $'^summary\tthroughput_rps\trequests/s\t' "$WORK/list.tsv" || fail "throughput_rps unit"
grep -q $'^derived\tper_page.iotlb_misses\tper 4 KB of data\t' "$WORK/list.tsv" || fail "per_page unit"
finish
