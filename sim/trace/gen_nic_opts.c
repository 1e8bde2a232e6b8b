/* gen_nic_opts.c — the options of `gen nic` (gen_nic.c is the generator):
 * the parameter table `iosim-trace gen nic --help` and its parsing are
 * made from, the typed defaults (gen_nic_defaults) taken from the same
 * table, and the checks across options before gen_nic_check.
 *
 * Concepts: some options set a typed parameter indirectly (--direction,
 *   --rq-sizing, --no-acks); nic_finish turns them into
 *   gen_nic_params_t.  Every default names its source or says it is a
 *   placeholder (docs/gen-nic.md).
 * Assumptions: as gen_nic.c.
 * Not modeled: nothing here (options only).
 */
#include <stddef.h>
#include <string.h>

#include "trace/gen.h"

/* The command line's options: the typed parameters and the options that
 * set them indirectly. */
typedef struct nic_opts {
    gen_nic_params_t p;
    unsigned direction; /* index of direction_choices */
    unsigned rq_sizing; /* index of rq_sizing_choices */
    bool no_acks;
} nic_opts_t;

static void nic_finish(nic_opts_t *o)
{
    o->p.direction = o->direction == 0   ? GEN_NIC_RX
                     : o->direction == 1 ? GEN_NIC_TX
                                         : GEN_NIC_RX | GEN_NIC_TX;
    if (o->no_acks)
        o->p.ack_every = 0;
    o->p.rq_sizing_mlx5 = o->rq_sizing == 1;
}

void gen_nic_defaults(gen_nic_params_t *p)
{
    nic_opts_t o;
    iosim_err_t err;
    /* the table's defaults parse (test_gen's test_registry) */
    if (gen_kind_defaults(&gen_kind_nic, &o, &err))
        memset(&o, 0, sizeof o);
    nic_finish(&o);
    *p = o.p;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
static const char *const direction_choices[] = {"rx", "tx", "both", NULL};
static const char *const rq_sizing_choices[] = {"packets", "mlx5", NULL};

#define NO(f) offsetof(nic_opts_t, f)
#define FS "F&S setup (FIGURES.md §1)"
// clang-format off
static const gen_param_t nic_params[] = {
    {"--flows", "N", GEN_OPT_U64, NO(p.flows), "5", 1, 65536, NULL,
     "flows, served round-robin", FS ": 5 flows, one per core"},
    {"--cpus", "C", GEN_OPT_U64, NO(p.cpus), "5", 1, GEN_NIC_MAX_CPUS, NULL,
     "cores; flow f runs on cpu f % C", FS ": 5 cores"},
    {"--ring", "R", GEN_OPT_U64, NO(p.ring), "256", 1, 65536, NULL,
     "outstanding rx packets per flow", FS ": rx ring of 256 packets"},
    {"--mtu", "BYTES", GEN_OPT_U64, NO(p.mtu), "4096", 1, 65536, NULL,
     "data packet size", FS ": 4 KB MTU"},
    {"--pages-per-descriptor", "P", GEN_OPT_U64, NO(p.ppd), "64", 1, 65536,
     NULL, "pages per rx descriptor",
     FS ": CX-5 rx descriptors hold 64 pages"},
    {"--direction", "rx|tx|both", GEN_OPT_CHOICE, NO(direction), "rx", 0, 0,
     direction_choices, "data direction", NULL},
    /* the short spelling gen random once documented */
    {"--dir", NULL, GEN_OPT_CHOICE, NO(direction), NULL, 0, 0,
     direction_choices, NULL, NULL},
    {"--packets", "N", GEN_OPT_U64, NO(p.packets), "100000", 1, 0, NULL,
     "data packets to generate", NULL},
    {"--duration", "SECONDS", GEN_OPT_DOUBLE, NO(p.duration_s), NULL, 0, 0,
     NULL, "stop at this trace time instead of --packets", NULL},
    {"--rate", "GBPS", GEN_OPT_DOUBLE, NO(p.rate_gbps), "100", 0, 0, NULL,
     "t advances mtu*8/rate ns per packet slot", FS ": 100 Gbps CX-5"},
    {"--ack-every", "K", GEN_OPT_U64, NO(p.ack_every), "2", 1, 0, NULL,
     "one ACK per K data packets of a flow",
     "DCTCP's delayed ACK: one ACK per 2 segments (RFC 8257 §3.2)"},
    {"--ack-bytes", "BYTES", GEN_OPT_U64, NO(p.ack_bytes), "64", 1, 65536,
     NULL, "ACK size", "placeholder: a minimum Ethernet frame"},
    {"--no-acks", NULL, GEN_OPT_FLAG, NO(no_acks), NULL, 0, 0, NULL,
     "no ACKs", NULL},
    {"--napi-batch", "B", GEN_OPT_U64, NO(p.napi_batch), "1", 1, 65536, NULL,
     "rx packets of a flow per driver poll: pages are unmapped,\n"
     "ACKs sent and descriptors reposted every B packets",
     "illustrative: unmap right after receive (NAPI_POLL_WEIGHT 64 is the "
     "maximum; the F&S cases calibrate 16 on fands-40f-psc-l1)"},
    {"--device-rings", NULL, GEN_OPT_FLAG, NO(p.device_rings), NULL, 0, 0,
     NULL, "model the device's WQE reads and CQE writes to coherent\n"
     "rings (long-lived mappings; default off)", NULL},
    {"--driver-only", NULL, GEN_OPT_FLAG, NO(p.driver_only), NULL, 0, 0,
     NULL, "write the driver's records only (no DMA records; meta\n"
     "has_dma=0, device = the device model that completes gen-nic\n"
     "traces): replay it with that model and its gen-nic profile\n"
     "(docs/dev-mlx5.md); with --rx-cache a MARK repost names each\n"
     "page the cache gives back without a map", NULL},
    {"--rx-header", "BYTES", GEN_OPT_U64, NO(p.rx_header), "0", 0, 4096, NULL,
     "L2 bytes the device writes before each MTU-sized rx packet", NULL},
    {"--stride", "BYTES", GEN_OPT_U64, NO(p.stride), NULL, 1, 65536, NULL,
     "striding rx descriptors: packets packed back to back in\n"
     "BYTES granules, straddling pages (default off)", NULL},
    {"--queue-per-cpu", NULL, GEN_OPT_FLAG, NO(p.queue_per_cpu), NULL, 0, 0,
     NULL, "the flows of a cpu share one rx queue, its ring and its\n"
     "poll (default: one rx queue per flow)", NULL},
    {"--gro-segments", "G", GEN_OPT_U64, NO(p.gro_segs), NULL, 1, 65536, NULL,
     "ACKs from GRO: per poll, a flow's packets form skbs of\n"
     "<= G segments, one ACK per skb of >= 2 (default off)", NULL},
    {"--burst", "N", GEN_OPT_U64, NO(p.burst), "1", 1, 65536, NULL,
     "a flow sends N packets back to back", NULL},
    {"--stagger-polls", NULL, GEN_OPT_FLAG, NO(p.stagger_polls), NULL, 0, 0,
     NULL, "spread the rx queues' polls evenly over a poll period\n"
     "(default: all queues poll in lockstep)", NULL},
    {"--stagger-wqes", NULL, GEN_OPT_FLAG, NO(p.stagger_wqes), NULL, 0, 0,
     NULL, "spread the rx queues' offsets in their first descriptor\n"
     "evenly (default: all start a fresh one)", NULL},
    {"--rx-cache", "SLOTS", GEN_OPT_U64, NO(p.rx_cache), "0", 0, 65536, NULL,
     "v6.0 mlx5 rx page cache per rx queue: released pages stay\n"
     "mapped for reuse; 0 (off) or a power of two (mlx5: 256)", NULL},
    {"--app-lag", "PACKETS", GEN_OPT_U64, NO(p.app_lag), "0", 0,
     GEN_NIC_MAX_APP_LAG, NULL,
     "with --rx-cache: the application frees a page this many\n"
     "packets of its queue after the poll that delivered it\n"
     "(0: before the next poll)", "placeholder, UNVERIFIED (docs/gen-nic.md)"},
    {"--unmap-ns", "NS", GEN_OPT_U64, NO(p.unmap_ns), "0", 0, 1000000000,
     NULL, "CPU time of one strict unmap in a poll; the device's\n"
     "accesses interleave with the poll's unmaps (0: a poll takes\n"
     "no time)", NULL},
    {"--rq-sizing", "packets|mlx5", GEN_OPT_CHOICE, NO(rq_sizing), "packets",
     0, 0, rq_sizing_choices,
     "rx descriptors per queue: enough for --ring packets, or\n"
     "as mlx5 sizes its multi-packet RQ from `ethtool -G rx R`\n"
     "(8 KB per packet at a 4 KB MTU)", NULL},
    {"--channels", "C", GEN_OPT_U64, NO(p.channels), "0", 0, 65536, NULL,
     "rx queues opened and filled at once at interface up, the\n"
     "rest idle with mapped rings; their fills interleave in\n"
     "IOVA space (0: only the used queues, one by one)", NULL},
    {"--seed", "S", GEN_OPT_U64, NO(p.seed), "1", 0, 0, NULL,
     "permutes physical frames (and, with --channels, the\n"
     "interleaving of the fills)", NULL},
    {"--device", "BB:DD.F", GEN_OPT_BDF, NO(p.device), "01:00.0", 0, 0, NULL,
     "source id", "the captures' NIC, as `import` defaults"},
    {"--domain", "D", GEN_OPT_U64, NO(p.domain), "1", 0, 0xffff, NULL,
     "domain id", NULL},
    {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on
#undef FS
#undef NO

static size_t nic_row(const char *name)
{
    size_t i = 0;
    while (nic_params[i].name && strcmp(nic_params[i].name, name))
        i++;
    return i;
}

static int nic_validate(void *opts, const bool *given, iosim_err_t *err)
{
    nic_opts_t *o = opts;
    bool packets = given[nic_row("--packets")];
    bool duration = given[nic_row("--duration")];
    if (packets && duration)
        return iosim_err_set(err, "gen nic: give only one of --packets and "
                                  "--duration");
    if (duration)
        o->p.packets = 0;
    nic_finish(o);
    return gen_nic_check(&o->p, err);
}

static int nic_write(const void *opts, const char *path, bool text,
                     iosim_err_t *err)
{
    return gen_nic_write(&((const nic_opts_t *)opts)->p, path, text, err);
}

const gen_kind_t gen_kind_nic = {
    .name = "nic",
    .summary = "mlx5-style NIC driver: rx rings of 64-page descriptors, "
               "ACKs, per-CPU IOVA reuse",
    .params = nic_params,
    .size = sizeof(nic_opts_t),
    .notes = "the options that are off by default add driver and stack "
             "details; the F&S\nvalidation cases say in input_why which "
             "they turn on and why (sources in\ndocs/gen-nic.md)\n",
    .validate = nic_validate,
    .write = nic_write,
    .implies = gen_nic_implies,
};
