#!/usr/bin/env bash
# retime.sh — iosim-trace retime (a trace captured on a slow
# guest re-timed to the modeled device's rate, and the report says so).
# Checks against values computed here with awk from the text form: the
# records are unchanged but for t; t - t0 scales by the factor; --gbps
# picks factor = mapped bytes x 8 / G / duration; the report's trace line
# and stat name it; bad flags give one line, exit 2, no output.
. "${SRC:?}/tests/cli/lib/common.sh"
IN="$SRC/traces/redis-lazy-qemu.zst"
"$IOSIM_TRACE" to-text "$IN" | grep -v '^#' > "$WORK/in.txt"
"$IOSIM_TRACE" retime "$IN" -o "$WORK/half.zst" --factor 0.5 2> /dev/null || fail "retime --factor"
"$IOSIM_TRACE" to-text "$WORK/half.zst" | grep -v '^#' > "$WORK/half.txt"
# same records apart from t; every t0 + (t - t0) / 2 (rounded half away)
paste -d'\n' "$WORK/in.txt" "$WORK/half.txt" | awk '
    NR % 2 == 1 { a = $0; next }
    { b = $0; ta = a; sub(/.* t=/, "", ta); sub(/ .*/, "", ta)
      tb = b; sub(/.* t=/, "", tb); sub(/ .*/, "", tb)
      if (n++ == 0) t0 = ta
      d = ta - t0; want = t0 + int(d / 2 + 0.5)
      if (tb + 0 != want) { print "t " ta " -> " tb ", want " want; bad++ }
      sub(/ t=[0-9]+/, "", a); sub(/ t=[0-9]+/, "", b)
      if (a != b) { print "record differs: " a " | " b; bad++ }
      if (bad > 5) exit 1 }
    END { exit bad > 0 }' || fail "--factor 0.5: records or times wrong"
[ "$(wc -l < "$WORK/half.txt")" = "$(wc -l < "$WORK/in.txt")" ] || fail "record count changed"
"$IOSIM_TRACE" stat "$WORK/half.zst" | grep -qx 'meta.retimed = x0.5' || fail "stat: no meta.retimed"
"$IOSIM" --no-progress "$WORK/half.zst" | grep '^# trace: ' | grep -q ' retimed=x0.5$' || fail "report does not say retimed"
# --gbps: factor from the mapped bytes and the duration, computed here
want=$(awk '{ t = $2; sub(/t=/, "", t); if (NR == 1) t0 = t; t1 = t }
            $1 == "MAP" { s = $0; sub(/.* size=/, "", s); sub(/ .*/, "", s); by += s }
            END { printf "%.6g", by * 8 / 100 / (t1 - t0) }' "$WORK/in.txt")
"$IOSIM_TRACE" retime "$IN" -o "$WORK/g.zst" --gbps 100 2> /dev/null || fail "retime --gbps"
"$IOSIM_TRACE" stat "$WORK/g.zst" | grep -qx "meta.retimed = x$want to 100 Gb/s" \
    || fail "--gbps 100: $("$IOSIM_TRACE" stat "$WORK/g.zst" | grep retimed), want x$want"
# bad input: a bad value is one line naming the option and the value;
# neither or both of --factor and --gbps, a line saying so, then the usage
for bad in "--factor 0:retime: --factor 0: expected a number in (0, 1e9]" \
           "--factor x:retime: --factor x: expected a number in (0, 1e9]" \
           "--gbps -3:retime: --gbps -3: expected a number in (0, 1e9]" \
           "--factor 1 --gbps 1:retime: give exactly one of --factor and --gbps" \
           ":retime: give exactly one of --factor and --gbps"; do
    args=${bad%%:*} want=${bad#*:}
    rm -f "$WORK/bad.zst"
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" retime "$IN" -o "$WORK/bad.zst" $args 2> "$WORK/err" > /dev/null
    [ $? -eq 2 ] || fail "retime $args: exit not 2"
    [ ! -e "$WORK/bad.zst" ] || fail "retime $args: left an output"
    case $want in *expected*) [ "$(wc -l < "$WORK/err")" -eq 1 ] ||
        fail "retime $args: not one line: $(cat "$WORK/err")" ;; esac
    head -n 1 "$WORK/err" | grep -qF -- "$want" || fail "retime $args: '$(head -n 1 "$WORK/err")', want '$want'"
done
"$IOSIM_TRACE" retime "$WORK/missing.zst" -o "$WORK/bad.zst" --factor 2 2> "$WORK/err"
[ $? -eq 2 ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] && grep -q missing.zst "$WORK/err" \
    || fail "missing input: $(cat "$WORK/err")"
finish
