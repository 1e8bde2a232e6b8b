/* cmd_gen_nic.c — the command line of `iosim-trace gen nic`: its options,
 * their --help text and the defaults note.  The generator itself is
 * sim/trace/gen_nic.c (library); its manual is docs/gen-nic.md.
 *
 * Concepts: gen_kind_nic is the "nic" line of `gen`'s kind table
 *   (cmd_gen.c); its run() maps the options onto gen_nic_params_t
 *   (defaults from gen_nic_defaults) and calls gen_nic_write, which
 *   checks them.  Options only an exploratory script uses come last,
 *   under "research".
 * Assumptions: none.
 * Not modeled: nothing (option parsing only).
 */
#include <stdbool.h>

#include "iosim.h"
#include "tools/trace_cmds.h"
#include "trace/gen.h"

static const char *const direction_choices[] = {"rx", "tx", "both", NULL};
static const char *const rq_sizing_choices[] = {"packets", "mlx5", NULL};

static int gen_nic_cli(int argc, char **argv, const char *path, bool text,
                       iosim_err_t *err)
{
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    unsigned dir = 0, rq_sizing = 0;
    bool packets_given = false, duration_given = false, no_acks = false;
    // clang-format off
    const gen_opt_t opts[] = {
        {"--flows", GEN_OPT_U64, &p.flows, 1, 65536, NULL, NULL},
        {"--ring", GEN_OPT_U64, &p.ring, 1, 65536, NULL, NULL},
        {"--mtu", GEN_OPT_U64, &p.mtu, 1, 65536, NULL, NULL},
        {"--rate", GEN_OPT_DOUBLE, &p.rate_gbps, 0, 0, NULL, NULL},
        {"--direction", GEN_OPT_CHOICE, &dir, 0, 0, direction_choices, NULL},
        /* the short spelling gen random once documented */
        {"--dir", GEN_OPT_CHOICE, &dir, 0, 0, direction_choices, NULL},
        {"--pages-per-descriptor", GEN_OPT_U64, &p.ppd, 1, 65536, NULL,
         NULL},
        {"--duration", GEN_OPT_DOUBLE, &p.duration_s, 0, 0, NULL,
         &duration_given},
        {"--packets", GEN_OPT_U64, &p.packets, 1, 0, NULL, &packets_given},
        {"--cpus", GEN_OPT_U64, &p.cpus, 1, GEN_NIC_MAX_CPUS, NULL, NULL},
        {"--seed", GEN_OPT_U64, &p.seed, 0, 0, NULL, NULL},
        {"--ack-every", GEN_OPT_U64, &p.ack_every, 1, 0, NULL, NULL},
        {"--ack-bytes", GEN_OPT_U64, &p.ack_bytes, 1, 65536, NULL, NULL},
        {"--napi-batch", GEN_OPT_U64, &p.napi_batch, 1, 65536, NULL, NULL},
        {"--no-acks", GEN_OPT_FLAG, &no_acks, 0, 0, NULL, NULL},
        {"--device-rings", GEN_OPT_FLAG, &p.device_rings, 0, 0, NULL, NULL},
        {"--driver-only", GEN_OPT_FLAG, &p.driver_only, 0, 0, NULL, NULL},
        {"--rx-header", GEN_OPT_U64, &p.rx_header, 0, 4096, NULL, NULL},
        {"--stride", GEN_OPT_U64, &p.stride, 1, 65536, NULL, NULL},
        {"--queue-per-cpu", GEN_OPT_FLAG, &p.queue_per_cpu, 0, 0, NULL,
         NULL},
        {"--gro-segments", GEN_OPT_U64, &p.gro_segs, 1, 65536, NULL, NULL},
        {"--burst", GEN_OPT_U64, &p.burst, 1, 65536, NULL, NULL},
        {"--stagger-polls", GEN_OPT_FLAG, &p.stagger_polls, 0, 0, NULL,
         NULL},
        {"--stagger-wqes", GEN_OPT_FLAG, &p.stagger_wqes, 0, 0, NULL,
         NULL},
        {"--rx-cache", GEN_OPT_U64, &p.rx_cache, 0, 65536, NULL, NULL},
        {"--app-lag", GEN_OPT_U64, &p.app_lag, 0, GEN_NIC_MAX_APP_LAG, NULL,
         NULL},
        {"--unmap-ns", GEN_OPT_U64, &p.unmap_ns, 0, 1000000000, NULL, NULL},
        {"--rq-sizing", GEN_OPT_CHOICE, &rq_sizing, 0, 0, rq_sizing_choices,
         NULL},
        {"--channels", GEN_OPT_U64, &p.channels, 0, 65536, NULL, NULL},
        {"--device", GEN_OPT_BDF, &p.device, 0, 0, NULL, NULL},
        {"--domain", GEN_OPT_U64, &p.domain, 0, 0xffff, NULL, NULL},
        /* research only: used by research/fands-explore, by no validation
         * case and no CLI test (docs/gen-nic.md) */
        {"--tx-unmap-at-poll", GEN_OPT_FLAG, &p.tx_unmap_at_poll, 0, 0, NULL,
         NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    // clang-format on
    if (gen_parse_opts("nic", opts, argc, argv, err))
        return -1;
    if (packets_given && duration_given)
        return iosim_err_set(err, "gen nic: give only one of --packets and "
                                  "--duration");
    if (duration_given)
        p.packets = 0;
    p.direction = dir == 0   ? GEN_NIC_RX
                  : dir == 1 ? GEN_NIC_TX
                             : GEN_NIC_RX | GEN_NIC_TX;
    if (no_acks)
        p.ack_every = 0;
    p.rq_sizing_mlx5 = rq_sizing == 1;
    return gen_nic_write(&p, path, text, err);
}

const gen_kind_t gen_kind_nic = {
    .name = "nic",
    .summary = "mlx5-style NIC driver: rx rings of 64-page descriptors, "
               "ACKs, per-CPU IOVA reuse",
    .usage =
        "  --flows N          flows, served round-robin (default 5)\n"
        "  --cpus C           cores; flow f runs on cpu f % C (default 5)\n"
        "  --ring R           outstanding rx packets per flow (default 256)\n"
        "  --mtu BYTES        data packet size (default 4096)\n"
        "  --pages-per-descriptor P  pages per rx descriptor (default 64)\n"
        "  --direction rx|tx|both  data direction (default rx)\n"
        "  --packets N        data packets to generate (default 100000)\n"
        "  --duration SECONDS stop at this trace time instead of --packets\n"
        "  --rate GBPS        t advances mtu*8/rate ns per packet slot "
        "(default 100)\n"
        "  --ack-every K      one ACK per K data packets of a flow "
        "(default 2)\n"
        "  --ack-bytes BYTES  ACK size (default 64)\n"
        "  --no-acks          no ACKs\n"
        "  --napi-batch B     rx packets of a flow per driver poll: pages "
        "are unmapped,\n"
        "                     ACKs sent and descriptors reposted every B "
        "packets (default 1)\n"
        "  --device-rings     model the device's WQE reads and CQE writes "
        "to coherent\n"
        "                     rings (long-lived mappings; default off)\n"
        "  --driver-only      write the driver's records only (no DMA "
        "records; meta\n"
        "                     has_dma=0 device=mlx5): replay with dev.model "
        "mlx5 and\n"
        "                     dev.mlx5.profile=gen-nic (docs/dev-mlx5.md); "
        "with\n"
        "                     --rx-cache a MARK repost names each page the "
        "cache gives\n"
        "                     back without a map\n"
        "  --rx-header BYTES  L2 bytes the device writes before each "
        "MTU-sized rx\n"
        "                     packet (default 0)\n"
        "  --stride BYTES     striding rx descriptors: packets packed "
        "back to back in\n"
        "                     BYTES granules, straddling pages (default "
        "off)\n"
        "  --queue-per-cpu    the flows of a cpu share one rx queue, its "
        "ring and its\n"
        "                     poll (default: one rx queue per flow)\n"
        "  --gro-segments G   ACKs from GRO: per poll, a flow's packets "
        "form skbs of\n"
        "                     <= G segments, one ACK per skb of >= 2 "
        "(default off)\n"
        "  --burst N          a flow sends N packets back to back "
        "(default 1)\n"
        "  --stagger-polls    spread the rx queues' polls evenly over a "
        "poll period\n"
        "                     (default: all queues poll in lockstep)\n"
        "  --stagger-wqes     spread the rx queues' offsets in their "
        "first descriptor\n"
        "                     evenly (default: all start a fresh one)\n"
        "  --rx-cache SLOTS   v6.0 mlx5 rx page cache per rx queue: "
        "released pages stay\n"
        "                     mapped for reuse; 0 or a power of two "
        "(mlx5: 256; default 0)\n"
        "  --app-lag PACKETS  with --rx-cache: the application frees a "
        "page this many\n"
        "                     packets of its queue after the poll that "
        "delivered it\n"
        "                     (default 0: before the next poll)\n"
        "  --unmap-ns NS      CPU time of one strict unmap in a poll; the "
        "device's\n"
        "                     accesses interleave with the poll's unmaps "
        "(default 0:\n"
        "                     a poll takes no time)\n"
        "  --rq-sizing packets|mlx5  rx descriptors per queue: enough for "
        "--ring packets\n"
        "                     (default), or as mlx5 sizes its multi-packet "
        "RQ from\n"
        "                     `ethtool -G rx R` (8 KB per packet at a 4 KB "
        "MTU)\n"
        "  --channels C       rx queues opened and filled at once at "
        "interface up, the\n"
        "                     rest idle with mapped rings; their fills "
        "interleave in\n"
        "                     IOVA space (default 0: only the used "
        "queues, one by one)\n"
        "  --seed S           permutes physical frames (and, with "
        "--channels, the\n"
        "                     interleaving of the fills; default 1)\n"
        "  --device BB:DD.F   source id (default 01:00.0)\n"
        "  --domain D         domain id (default 1)\n",
    /* after -o and --text, which `gen` prints after .usage */
    .defaults_note =
        "research (used by research/fands-explore only):\n"
        "  --tx-unmap-at-poll ACK buffers stay mapped until their channel's "
        "next poll\n"
        "                     reaps the tx completions (mlx5e_napi_poll; rx "
        "only;\n"
        "                     default: unmapped right after the device read)\n"
        "defaults: the F&S setup (FIGURES.md §1: 5 flows on 5 cores, rx ring\n"
        "  of 256, 4 KB MTU, 64-page descriptors, 100 Gbps) and DCTCP's ACK\n"
        "  every second segment (RFC 8257 §3.2); --packets, --ack-bytes (a\n"
        "  minimum frame) and --napi-batch 1 are illustrative; the options\n"
        "  that are off by default add driver and stack details, and the F&S\n"
        "  validation cases say in input_why which they turn on and why\n"
        "  (sources in docs/gen-nic.md)\n",
    .run = gen_nic_cli,
};
