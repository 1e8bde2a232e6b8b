#!/usr/bin/env bash
# `cmake --install` puts the programs, the one public header, the library,
# a pkg-config file and the example configs in place, and a program built
# only against the installed header + pkg-config runs a simulation.
. "${SRC:?}/tests/cli/lib/common.sh"
BUILD=$(dirname "$(dirname "$IOSIM")")
[ -f "$BUILD/CMakeCache.txt" ] || BUILD=$(dirname "$IOSIM")
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log" || fail "cmake --install"
P=$WORK/prefix
for f in bin/iosim bin/iosim-trace include/iosim.h lib/libiosim.a lib/pkgconfig/iosim.pc \
         share/iosim/configs/vtd.yaml share/iosim/configs/qemu-guest.yaml \
         share/iosim/scripts/plot_sweep.py share/iosim/scripts/plot_compare.py \
         share/iosim/scripts/plot_epochs.py share/iosim/scripts/plot_iotlb_sweep.py; do
    [ -e "$P/$f" ] || fail "missing $f"
done
cat > "$WORK/use.c" <<'C'
#include <iosim.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    iosim_err_t err;
    iosim_config_t *c = iosim_config_new();
    if (!c || iosim_config_load(c, argv[1], &err)) { fprintf(stderr, "%s\n", err.msg); return 2; }
    iosim_trace_reader_t *r = iosim_trace_open(argv[2], &err);
    if (!r) { fprintf(stderr, "%s\n", err.msg); return 2; }
    iosim_sim_t *s = iosim_sim_new(c, "x", iosim_trace_meta(r), &err);
    if (!s || iosim_replay_reader(r, &s, 1, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 2; }
    uint64_t maps = 0;
    iosim_sim_stat_by_name(s, "os.maps", &maps);
    printf("%llu\n", (unsigned long long)maps);
    iosim_sim_free(s); iosim_trace_close(r); iosim_config_free(c);
    return argc == 3 ? 0 : 1;
}
C
flags=$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --cflags --libs iosim) || fail "pkg-config"
san=""   # a sanitizer build's library needs the sanitizer runtimes
grep -q '^IOSIM_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && san="-fsanitize=address,undefined"
cc -std=c11 $san -o "$WORK/use" "$WORK/use.c" $flags || fail "compile against installed header"
got=$("$WORK/use" "$P/share/iosim/configs/vtd.yaml" "$SRC/traces/memcached-strict.zst") || fail "run"
# MAP records inside BENCH_START..BENCH_END, counted independently
want=$("$P/bin/iosim-trace" to-text "$SRC/traces/memcached-strict.zst" |
       awk '/type=begin/{w=1} /type=end/{w=0} w && /^MAP /{n++} END{print n+0}')
[ "$got" = "$want" ] || fail "os.maps $got, MAP records in the window $want"
# the installed sweep plot runs on its own (no source tree): the points of
# a two-row table, as written
printf 'trace,variant,vtd.iotlb.ways,iotlb.misses\nt,strict,4,10\nt,strict,8,6\n' > "$WORK/t.csv"
got=$("$P/share/iosim/scripts/plot_sweep.py" "$WORK/t.csv" --x vtd.iotlb.ways \
      --y iotlb.misses --dump -o "$WORK/t.png" | tail -n +2 | tr '\n' ' ') ||
    fail "installed plot_sweep.py: exit $?"
[ "$got" = ",strict,4,10 ,strict,8,6 " ] || fail "installed plot_sweep.py: '$got'"
[ -s "$WORK/t.png" ] || fail "installed plot_sweep.py wrote no PNG"
finish
