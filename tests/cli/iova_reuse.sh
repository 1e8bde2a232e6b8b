#!/usr/bin/env bash
# Ground truth for the IOVA allocator model (os.iova_mode=reallocate)
# from the real kernel's own IOVAs: in a shipped ftrace capture every MAP
# records the IOVA Linux 6.1's allocator returned, on the CPU that asked.
# Statistic: of the IOVAs handed out again after an unmap, the share whose
# new mapping was made on another CPU than the one that unmapped them
# ("cross-CPU reuse").  Computed the same way from the trace (the
# kernel's IOVAs) and from the model's IOVAs (--xlate-log rows of the
# accesses the access model makes at each UNMAP), over the same map and
# unmap records.
#   - lazy: an IOVA goes back to an rcache only when a flush-queue ring is
#     freed; the timer frees every CPU's ring into the rcache of the CPU
#     it runs on (dma-iommu.c fq_flush_timeout; sim/os/os_lazy.c), so a
#     third or so of the IOVAs move between CPUs.  The captures show 31 to
#     37%; the model must be within 8 points of each (it gives 29 to 42%;
#     a model that returned every IOVA to its own CPU's rcache gave 5 to
#     16%, so the bound separates the two).  Nothing is fitted here.
#   - strict: an IOVA is freed right after its invalidation, into the
#     unmapping CPU's rcache: the model gives the trace's share to 0.5
#     point (it reproduces the kernel's reuse pattern).
# Second statistic, the IOVA footprint: distinct 4 KB IOVA pages the
# unmapped buffers started at, within 10% of the kernel's (lazy: kernel
# 850 / 901 / 851, model 910 / 846 / 816; returning IOVAs to their own
# CPU gave 679 / 597 / 563; strict: 507 vs 514, 510 vs 515).  The model's
# IOVAs themselves differ from the kernel's (its allocator starts empty,
# the kernel's did not), so only statistics that do not depend on where
# the IOVA space starts are compared.
. "${SRC:?}/tests/cli/lib/common.sh"

# cross-CPU reuse share (percent) and footprint (distinct IOVA pages) of
# the trace ($1 = text trace) and of the model ($2 = xlate log); prints
# "REAL_SHARE MODEL_SHARE REAL_PAGES MODEL_PAGES"
reuse() {
    awk -F'[ ,]' '
    function lifetime(iova, mc, uc, which) {
        iova = substr(iova, 1, length(iova) - 3) # its 4 KB page
        if (!((which, iova) in last)) pages[which]++
        if ((which, iova) in last) {
            if (last[which, iova] == mc) same[which]++; else cross[which]++
        }
        last[which, iova] = uc
    }
    function field(name,   i) {
        for (i = 2; i <= NF; i++)
            if (index($i, name "=") == 1) return substr($i, length(name) + 2)
        return ""
    }
    FNR == NR {
        if ($0 ~ /^#/) next
        n = rec++
        if ($1 == "MAP") mapcpu[field("iova")] = field("cpu")
        else if ($1 == "UNMAP") {
            iova = field("iova")
            if (iova in mapcpu) {
                mc[n] = mapcpu[iova]; uc[n] = field("cpu")
                delete mapcpu[iova]
                lifetime(iova, mc[n], uc[n], "real")
            }
        }
        next
    }
    FNR > 1 && ($2 in mc) && !($2 in seen) {
        seen[$2] = 1
        lifetime($7, mc[$2], uc[$2], "model")
    }
    END {
        printf "%.2f %.2f %d %d\n",
               100 * cross["real"] / (same["real"] + cross["real"]),
               100 * cross["model"] / (same["model"] + cross["model"]),
               pages["real"], pages["model"]
    }' "$1" "$2"
}

check() { # trace policy max-difference-in-points
    local t=$1 policy=$2 tol=$3
    "$IOSIM_TRACE" to-text "$SRC/traces/$t.zst" > "$WORK/$t.txt" ||
        { fail "$t: to-text failed"; return; }
    "$IOSIM" --config "$SRC/configs/vtd.yaml" --set os.policy="$policy" \
        --set os.iova_mode=reallocate --no-progress \
        --xlate-log "$WORK/$t.csv" "$SRC/traces/$t.zst" > /dev/null ||
        { fail "$t: run failed"; return; }
    read -r real model real_pages model_pages \
        < <(reuse "$WORK/$t.txt" "$WORK/$t.csv")
    [ -n "${model_pages:-}" ] || { fail "$t: no statistics computed"; return; }
    echo "$t ($policy): cross-CPU IOVA reuse: kernel $real%, model $model%;" \
         "IOVA pages: kernel $real_pages, model $model_pages"
    awk -v a="$real" -v b="$model" -v t="$tol" \
        'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }' ||
        fail "$t: model $model% vs kernel $real%: more than $tol points apart"
    awk -v a="$real_pages" -v b="$model_pages" \
        'BEGIN { exit !(a > 0 && b >= 0.9 * a && b <= 1.1 * a) }' ||
        fail "$t: $model_pages IOVA pages vs the kernel's $real_pages: not within 10%"
}

check redis-lazy lazy 8
check memcached-lazy lazy 8
check nginx-lazy lazy 8
check redis-strict strict 0.5
check nginx-strict strict 0.5
finish
