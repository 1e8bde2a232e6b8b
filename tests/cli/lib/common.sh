# common.sh — the opening every CLI test shares; sourced first thing
# (. "${SRC:?}/tests/cli/lib/common.sh"), not a test itself: ctest
# registers tests/cli/*.sh only (tests/CMakeLists.txt).
#   - stops at once when the environment ctest gives is incomplete (IOSIM,
#     IOSIM_TRACE, SRC, WORK: tests/CMakeLists.txt);
#   - gives the test an empty scratch directory $WORK;
#   - fail MESSAGE: one "FAIL: MESSAGE" line on stderr, counted in $fails;
#     the test goes on;
#   - finish [TEXT]: the test's last word: exit 1 after any failure (with
#     their count), else "NAME: TEXT" (default "all checks passed"), exit 0;
#   - expect_bad_input WANT ARGS...: iosim ARGS is bad input: exit 2, one
#     stderr line ($WORK/stderr) containing WANT, no output file, within
#     $BAD_INPUT_SECONDS (default 60);
#   - csv_value FILE SECTION LABEL NAME: a value of a CSV report;
#   - sanitized: true when $IOSIM was built with a sanitizer (its code
#     calls the runtime's __asan_init or __tsan_init: -DIOSIM_SANITIZE=ON,
#     or -fsanitize=thread in CMAKE_C_FLAGS), whose allocators keep freed
#     memory and whose shadow memory reserves terabytes of address space:
#     peak-memory and address-space limits then measure the sanitizer.
set -u
: "${IOSIM:?}" "${IOSIM_TRACE:?}" "${SRC:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
sanitized() {
    grep -aqE '__(asan|tsan)_init' "$IOSIM"
}
finish() {
    local name
    name=$(basename "$0" .sh)
    if [ "$fails" -gt 0 ]; then
        echo "$name: $fails failure(s)" >&2
        exit 1
    fi
    echo "$name: ${1:-all checks passed}"
    exit 0
}
expect_bad_input() {
    local want=$1 rc
    shift
    rm -f "$WORK/out.txt"
    timeout "${BAD_INPUT_SECONDS:-60}" "$IOSIM" --no-progress -o "$WORK/out.txt" \
        "$@" < /dev/null > /dev/null 2> "$WORK/stderr"
    rc=$?
    [ $rc -eq 2 ] || fail "$*: exit $rc (124 = timed out), want 2"
    [ "$(wc -l < "$WORK/stderr")" -eq 1 ] ||
        fail "$*: stderr is not one line: $(head -c 300 "$WORK/stderr")"
    grep -qF -- "$want" "$WORK/stderr" ||
        fail "$*: stderr lacks '$want': $(head -c 300 "$WORK/stderr")"
    [ ! -e "$WORK/out.txt" ] || fail "$*: left an output file"
}
csv_value() {
    awk -F, -v s="$2" -v l="$3" -v n="$4" \
        '$1 == s && $2 == l && $3 == n { print $4 }' "$1"
}
