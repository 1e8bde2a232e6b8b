#!/bin/bash
# readme.sh — what README.md names exists and answers as it says, checked
# against the programs and scripts themselves (a reader follows the README
# from a fresh clone):
#   - the packages it says scripts/deps installs are scripts/deps' list;
#   - every repository path it names (scripts/, configs/, traces/, docs/,
#     tests/, sim/, research/, examples/, .ci/) exists;
#   - every option of an example line `./build/iosim ...` or
#     `./build/iosim-trace CMD [KIND] ...` is in that command's --help;
#   - every script it names (scripts/*, research/*) answers --help with
#     exit 0, text on stdout, nothing read from stdin.
# Env: IOSIM, IOSIM_TRACE, SRC, WORK (see tests/CMakeLists.txt).
. "${SRC:?}/tests/cli/lib/common.sh"
R="$SRC/README.md"

# --- the packages ---------------------------------------------------------
# README: "`scripts/deps` (called by both) installs `PKG ...` (and `PKG`
# for ..., `PKG ...` for ...).": the backquoted words of that sentence
readme_pkgs=$(tr '\n' ' ' < "$R" |
              sed -n 's/.*`scripts\/deps` (called by both) installs \([^.]*\)\..*/\1/p' |
              grep -o '`[^`]*`' | tr -d '`' | tr ' ' '\n' | grep -v '^$' | sort)
deps_pkgs=$(sed -n '/^pkgs=(/,/)/p' "$SRC/scripts/deps" | sed 's/pkgs=(//; s/)//' |
            tr ' ' '\n' | grep -v '^$' | sort)
[ -n "$deps_pkgs" ] || fail "scripts/deps: no pkgs=(...) list read"
[ "$readme_pkgs" = "$deps_pkgs" ] ||
    fail "README's packages differ from scripts/deps': $(diff <(echo "$readme_pkgs") \
<(echo "$deps_pkgs") | grep '^[<>]' | tr '\n' ' ')"

# --- the paths ------------------------------------------------------------
# configs/x.yaml is the README's example of an error message, not a file
n=0
while read -r p; do
    n=$((n + 1))
    compgen -G "$SRC/$p" > /dev/null || fail "README names $p: no such file"
done < <(grep -oE '(^|[^A-Za-z0-9_.-])(scripts|configs|traces|docs|tests|sim|research|examples|\.ci)/[A-Za-z0-9_./*-]+' "$R" |
         sed -E 's/^[^A-Za-z0-9_.]//; s/[.,:;)]*$//' | sort -u | grep -vx 'configs/x.yaml')
[ $n -ge 90 ] || fail "only $n paths read from README.md"

# --- the example lines' options ---------------------------------------------
# an example is a code line (4 spaces) running ./build/iosim or
# ./build/iosim-trace, with its continuation lines (ending in \)
awk '/^    / { line = line $0; if (/\\$/) next; print line; line = ""; next }
     { line = "" }' "$R" | grep -E '^ +(for .*; do )?\./build/iosim' > "$WORK/examples"
[ "$(wc -l < "$WORK/examples")" -ge 30 ] ||
    fail "only $(wc -l < "$WORK/examples") example lines read from README.md"
while read -r ex; do
    ex=${ex%%#*}                          # the comment
    set -f # the example's words, unglobbed
    # shellcheck disable=SC2086
    set -- $ex
    set +f
    while [ $# -gt 0 ] && [ "$1" != ./build/iosim ] && [ "$1" != ./build/iosim-trace ]; do shift; done
    prog=$1; shift
    cmd=()
    if [ "$prog" = ./build/iosim-trace ]; then
        cmd=("$IOSIM_TRACE" "$1")
        [ "$1" = gen ] || [ "$1" = import ] && cmd+=("$2")
    elif [ "${1:0:1}" != - ]; then
        cmd=("$IOSIM" "$1") # sweep, iotlb-sweep
    else
        cmd=("$IOSIM")
    fi
    "${cmd[@]}" --help > "$WORK/help" 2>&1 || fail "${cmd[*]} --help: exit $?"
    for o in $(printf '%s\n' "$@" | grep -oE '^--[a-z][a-z0-9-]*'); do
        grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" "$WORK/help" ||
            fail "README example '${prog#./build/} ${cmd[*]:1} ... $o': not in its --help"
    done
done < "$WORK/examples"

# --- the scripts answer --help ----------------------------------------------
# A bash script runs as a copy alone in $WORK/sandbox/scripts/ (it cd's to
# its folder's parent): one that ignored --help (scripts/quickstart and
# scripts/test did, and built and ran the test suite) finds nothing to
# build there and fails at once.
mkdir -p "$WORK/sandbox/scripts" "$WORK/sandbox/research"
for s in $(grep -oE '(scripts|research)/[A-Za-z0-9_-]+(\.py)?' "$R" | sort -u); do
    [ -f "$SRC/$s" ] || continue # a folder (scripts/capture/)
    if head -n 1 "$SRC/$s" | grep -q python; then
        run=(/usr/bin/python3 "$SRC/$s")
    else
        rm -f "$WORK"/sandbox/scripts/* "$WORK"/sandbox/research/*
        cp "$SRC/$s" "$WORK/sandbox/$s"
        run=(bash "$WORK/sandbox/$s")
    fi
    (cd "$WORK/sandbox" && timeout 20 "${run[@]}" --help < /dev/null) > "$WORK/shelp" 2> "$WORK/shelp.err"
    rc=$?
    [ $rc -eq 0 ] && [ -s "$WORK/shelp" ] ||
        fail "$s --help: exit $rc, $(wc -c < "$WORK/shelp") bytes on stdout: $(head -c 200 "$WORK/shelp.err")"
done

finish
