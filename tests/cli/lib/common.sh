# common.sh — the opening every CLI test shares; sourced first thing
# (. "${SRC:?}/tests/cli/lib/common.sh"), not a test itself: ctest
# registers tests/cli/*.sh only (tests/CMakeLists.txt).
#   - stops at once when the environment ctest gives is incomplete (IOSIM,
#     IOSIM_TRACE, SRC, WORK: tests/CMakeLists.txt);
#   - gives the test an empty scratch directory $WORK;
#   - fail MESSAGE: one "FAIL: MESSAGE" line on stderr, counted in $fails;
#     the test goes on;
#   - finish [TEXT]: the test's last word: exit 1 after any failure (with
#     their count), else "NAME: TEXT" (default "all checks passed"), exit 0.
set -u
: "${IOSIM:?}" "${IOSIM_TRACE:?}" "${SRC:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
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
