/* gen.h — synthetic trace generators (internal to the library and the
 * `iosim-trace gen` command).
 *
 * Concepts:
 *   - A *generator kind* is an ops struct (gen_kind_t) listed in the
 *     NULL-terminated registry gen_kinds[] (gen_registry.c).  It carries
 *     its options as a parameter table (gen_param_t rows: name, type,
 *     offset into the kind's own options struct, default, range, help,
 *     source), a validate hook and a write hook; `iosim-trace gen` builds
 *     the kind's --help and its option parsing from the table.  A new
 *     generator = one file (its generator, table and kind) + one registry
 *     line.
 *   - Every kind accepts the same option syntax: "--name VALUE" or
 *     "--name=VALUE"; sizes and counts take K/M/G suffixes (powers of
 *     1024).  The typed API of each kind (params struct, defaults, write)
 *     is what the unit tests call; its defaults are the table's.
 *   - gen_out_t batches records into the trace writer; the writer renames
 *     its temp file only at commit, so a failed run leaves no output.
 *   - Randomness comes from a seeded splitmix64 stream (gen_rng_t), so a
 *     seed always gives byte-identical traces.
 * Assumptions: see each generator file.
 * Not modeled: see each generator file.
 */
#ifndef IOSIM_GEN_H
#define IOSIM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iosim.h"

/* ---------------------------------------------------------------- */
/* Options and the registry                                          */
/* ---------------------------------------------------------------- */
typedef enum gen_opt_type {
    GEN_OPT_U64,    /* uint64_t; K/M/G suffixes; range [min, max]      */
    GEN_OPT_DOUBLE, /* double > 0                                     */
    GEN_OPT_BDF,    /* uint16_t source id from "[DDDD:]BB:DD.F"    */
    GEN_OPT_CHOICE, /* unsigned index into choices[]                   */
    GEN_OPT_FLAG,   /* bool set to true; takes no value                */
    GEN_OPT_PATH,   /* const char *: a file the tool reads (argv's text) */
} gen_opt_type_t;

/* One option of a kind: the field at offset in the kind's options struct. */
typedef struct gen_param {
    const char *name;    /* "--window"                                   */
    const char *metavar; /* "BYTES" in --help; NULL: a flag, or an
                            alias left out of --help                     */
    gen_opt_type_t type;
    size_t offset;
    const char *def;            /* default as the option takes it; NULL = zero
                                   (a flag: off)                                  */
    uint64_t min, max;          /* GEN_OPT_U64 (max 0 = no limit);
                                   GEN_OPT_PATH: min 1 = the source needs
                                   it (its usage line shows it bare, an
                                   optional file in brackets)             */
    const char *const *choices; /* GEN_OPT_CHOICE, NULL-terminated    */
    const char *help;           /* '\n' starts a continuation line     */
    const char *source;         /* of the default; NULL = illustrative */
} gen_param_t;

/* One setting the traces of a generator or importer imply: recorded in
 * the trace's metadata as implies.dev.<device>.<key>=VALUE (<device> =
 * meta.device, the device model that completes a driver-only trace), so
 * that iosim replays the trace with it wherever the configuration does
 * not give that key itself (iosim_config_apply_trace).  Today the only
 * settings a producer knows a replay needs are the layout of the device
 * half it left to a device model. */
typedef struct gen_imply {
    const char *key;  /* a parameter of the device model: "stride"      */
    const char *from; /* how the value follows from the options         */
    const char *why;  /* why the replay needs it: the source             */
    /* The value for these options (the kind's typed params struct, as
     * its typed write takes it) into buf; false: not implied for them. */
    bool (*value)(const void *params, char *buf, size_t n);
} gen_imply_t;

/* Records rows' settings (NULL-key ended; NULL = none) for params in
 * meta; nothing when meta->device is empty (no device model completes
 * the trace).  0, or -1 with err (a value that does not fit the
 * metadata: a bug of the rows). */
int gen_meta_implies(const gen_imply_t *rows, const void *params,
                     iosim_trace_meta_t *meta, iosim_err_t *err);

typedef struct gen_kind {
    const char *name;          /* "random"                                  */
    const char *summary;       /* one line for `gen --help`                 */
    const gen_param_t *params; /* NULL-name ended                          */
    size_t size;               /* bytes of the options struct               */
    const char *notes;         /* printed after the options (NULL = none)   */
    /* checks the options the command line left (given[i]: params[i]
     * appeared) and derives what write needs; 0 or -1 with err */
    int (*validate)(void *opts, const bool *given, iosim_err_t *err);
    int (*write)(const void *opts, const char *path, bool text,
                 iosim_err_t *err);
    /* The settings its traces imply (gen_imply_t rows, NULL-key ended),
     * recorded by its write; NULL with implies_none saying why none
     * applies.  Shown by `gen KIND --help`. */
    const gen_imply_t *implies;
    const char *implies_none;
} gen_kind_t;

extern const gen_kind_t *const gen_kinds[];
const gen_kind_t *gen_kind_find(const char *name);

extern const gen_kind_t gen_kind_random; /* gen_random.c */
extern const gen_kind_t gen_kind_nic;    /* gen_nic_opts.c */
extern const gen_kind_t gen_kind_pvp;    /* gen_pvp.c    */

/* opts (k->size bytes) zeroed, then every row's default applied; -1 (err
 * naming the row) when a default does not parse. */
int gen_kind_defaults(const gen_kind_t *k, void *opts, iosim_err_t *err);
/* Sets the option of row o in opts from its text val (as the option
 * would be given; a flag's val is ignored): 0, or -1 with err "who: --opt:
 * ..." (who NULL: no prefix).  The command line's argv parsing
 * (sim/tools/param_args.c) and the defaults both go through it. */
int gen_param_set(const char *who, const gen_param_t *o, void *opts,
                  const char *val, iosim_err_t *err);
/* "gen NAME", the prefix of a kind's messages (thread-local: kinds may
 * run on several threads). */
const char *gen_kind_who(const gen_kind_t *k);
/* The row of rows named name, or NULL. */
const gen_param_t *gen_param_find(const gen_param_t *rows, const char *name);
/* Unsigned number with optional K/M/G suffix (and optional B).  0 / -1. */
int gen_parse_u64(const char *s, uint64_t *out);

/* ---------------------------------------------------------------- */
/* Output                                                            */
/* ---------------------------------------------------------------- */
#define GEN_OUT_BATCH 4096u

typedef struct gen_out {
    iosim_trace_writer_t *w;
    iosim_rec_t batch[GEN_OUT_BATCH];
    size_t n;
    uint64_t records; /* records handed to gen_out_put so far */
} gen_out_t;

/* A zeroed record of one kind at time t for the generator's device and
 * domain; the caller fills the kind-specific fields. */
static inline iosim_rec_t gen_rec(uint8_t kind, uint64_t t, uint16_t device,
                                  uint16_t domain)
{
    iosim_rec_t r = {.kind = kind, .t = t, .device = device, .domain = domain};
    return r;
}

gen_out_t *gen_out_create(const char *path, const iosim_trace_meta_t *meta,
                          bool text, iosim_err_t *err);
int gen_out_flush(gen_out_t *o, iosim_err_t *err);
static inline int gen_out_put(gen_out_t *o, const iosim_rec_t *r,
                              iosim_err_t *err)
{
    o->batch[o->n++] = *r;
    o->records++;
    return o->n == GEN_OUT_BATCH ? gen_out_flush(o, err) : 0;
}
/* Flushes and commits (renames onto path); frees o in every case. */
int gen_out_commit(gen_out_t *o, iosim_err_t *err);
/* Removes the temp file and frees o (NULL is fine). */
void gen_out_abort(gen_out_t *o);

/* A window mapped up front page by page (gen random, gen pvp): page i is
 * iova + i * page_size -> phys + i * page_size, read-write. */
typedef struct gen_window {
    uint64_t iova, phys, pages, page_size;
    uint16_t device, domain;
} gen_window_t;
/* One MAP (kind IOSIM_REC_MAP) or UNMAP per page of w, in order, at t. */
int gen_window_emit(gen_out_t *o, const gen_window_t *w, uint8_t kind,
                    uint64_t t, iosim_err_t *err);
/* The common end of a window generator: the END mark and the window's
 * UNMAPs at t_end, then commit; on any failure the output is removed.
 * Frees o in every case. */
int gen_window_close(gen_out_t *o, const gen_window_t *w, uint64_t t_end,
                     iosim_err_t *err);

/* ---------------------------------------------------------------- */
/* PRNG: splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom  */
/* number generators", OOPSLA 2014)                                  */
/* ---------------------------------------------------------------- */
typedef struct gen_rng {
    uint64_t state;
} gen_rng_t;

static inline uint64_t gen_rng_next(gen_rng_t *g)
{
    uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias (rejection), n > 0. */
uint64_t gen_rng_below(gen_rng_t *g, uint64_t n);

/* ---------------------------------------------------------------- */
/* gen random (gen_random.c)                                         */
/* ---------------------------------------------------------------- */
typedef struct gen_random_params {
    uint64_t window;    /* bytes mapped up front                       */
    uint64_t size;      /* bytes per DMA                                */
    uint64_t count;     /* DMA records                                  */
    uint64_t page_size; /* 4K, 2M or 1G                                 */
    uint64_t seed;
    uint64_t iova_base; /* rounded up to page_size                      */
    uint64_t domain;
    uint16_t device;
    bool write;       /* DMA direction: device writes memory          */
    bool marks;       /* a MARK request before every DMA              */
    double rate_gbps; /* t advances size*8/rate ns per DMA            */
} gen_random_params_t;

void gen_random_defaults(gen_random_params_t *p);
int gen_random_check(const gen_random_params_t *p, iosim_err_t *err);
/* The IOVA of the first mapped page (iova_base rounded up). */
uint64_t gen_random_first_iova(const gen_random_params_t *p);
int gen_random_write(const gen_random_params_t *p, const char *path, bool text,
                     iosim_err_t *err);

/* ---------------------------------------------------------------- */
/* gen nic (gen_nic*.c)                                               */
/* ---------------------------------------------------------------- */
#define GEN_NIC_RX 1u
#define GEN_NIC_TX 2u

typedef struct gen_nic_params {
    uint64_t flows;
    uint64_t ring;     /* outstanding rx buffers (packets) per flow  */
    uint64_t mtu;      /* bytes per data packet                       */
    uint64_t ppd;      /* pages per rx descriptor                     */
    uint64_t packets;  /* data packets (0: use duration)              */
    double duration_s; /* stop when t reaches this (0: use packets)   */
    uint64_t cpus;
    uint64_t seed;
    uint64_t ack_every; /* one ACK per this many data packets of a flow */
    uint64_t ack_bytes;
    uint64_t domain;
    uint16_t device;
    unsigned direction;  /* GEN_NIC_RX | GEN_NIC_TX                     */
    uint64_t napi_batch; /* rx packets of a flow between driver polls   */
    bool device_rings;   /* device reads WQEs / writes CQEs (gen_nic*.c)  */
    bool driver_only;    /* no DMA records: has_dma=0, device=mlx5       */
    double rate_gbps;
    /* F&S mechanisms (gen_nic*.c; all off by default = the layout above) */
    uint64_t rx_header; /* L2 bytes the device writes before the MTU   */
    uint64_t stride;    /* striding RQ: packets packed at this granule  */
    bool queue_per_cpu; /* flows of a cpu share one rx queue and poll   */
    uint64_t gro_segs;  /* ACKs per GRO skb of <= this many segments    */
    uint64_t burst;     /* packets a flow sends back to back (TSO)      */
    bool stagger_polls; /* queues poll at evenly spread phases          */
    bool stagger_wqes;  /* queues start at evenly spread descriptor
                         * offsets                                     */
    /* v6.0 mlx5 rx page cache (gen_nic*.c; 0 = off) */
    uint64_t rx_cache; /* slots per rx queue: 0, or a power of two >= 2 */
    uint64_t app_lag;  /* rx packets of a queue from the poll that
                        * delivered a page's last packet until the
                        * application frees it (placeholder)          */
    /* CPU time of one strict unmap during a poll (gen_nic*.c; 0 = a poll's
     * records all at the poll's instant) */
    uint64_t unmap_ns;
    /* rx descriptors per queue as mlx5 computes them from --ring
     * (gen_nic*.c; false = just enough descriptors for --ring packets) */
    bool rq_sizing_mlx5;
    /* rx queues (channels) the driver opens and fills at once when the
     * interface comes up, the first ones being those traffic uses; the
     * rest stay idle with their rings mapped (gen_nic*.c; 0 = only the
     * queues traffic uses, filled one after another) */
    uint64_t channels;
} gen_nic_params_t;

#define GEN_NIC_MAX_CPUS 256 /* the cpu field of a record is 8 bits */
/* keeps rx_pkts + app_lag + 1 far from overflow */
#define GEN_NIC_MAX_APP_LAG (1ULL << 32)

void gen_nic_defaults(gen_nic_params_t *p);
int gen_nic_check(const gen_nic_params_t *p, iosim_err_t *err);
/* Upper bound on live mappings at any time (rx rings and rx caches full
 * + one ACK or tx packet in flight), for tests and documentation. */
uint64_t gen_nic_live_bound(const gen_nic_params_t *p);
int gen_nic_write(const gen_nic_params_t *p, const char *path, bool text,
                  iosim_err_t *err);
/* What a --driver-only trace implies for the device model completing it
 * (its gen-nic profile: the layout of the device half), gen_imply_t rows
 * whose value() takes a gen_nic_params_t; written by gen_nic_write. */
extern const gen_imply_t gen_nic_implies[];

/* ---------------------------------------------------------------- */
/* gen pvp (gen_pvp.c)                                               */
/* ---------------------------------------------------------------- */
typedef struct gen_pvp_params {
    uint64_t page_size; /* guest hugepage: 4K, 2M or 1G                 */
    uint64_t mbufs;     /* objects in the guest mbuf pool               */
    uint64_t obj_size;  /* bytes per pool object                        */
    uint64_t ring_size; /* descriptors per virtqueue                    */
    uint64_t vrings;    /* virtqueues laid out after the pool           */
    uint64_t packets;   /* measured packets                             */
    uint64_t pkt_size;  /* packet bytes                                 */
    uint64_t hdr_size;  /* virtio-net header bytes                      */
    uint64_t seed;
    uint64_t iova_base; /* guest IOVA of the pool, page aligned         */
    uint64_t domain;
    uint16_t device;
    double rate_mpps; /* t advances 1000/rate ns per packet           */
} gen_pvp_params_t;

void gen_pvp_defaults(gen_pvp_params_t *p);
int gen_pvp_check(const gen_pvp_params_t *p, iosim_err_t *err);
/* Bytes of one legacy split vring of n descriptors (4096 B alignment). */
uint64_t gen_pvp_vring_bytes(uint64_t n);
/* Bytes mapped: pool + rings rounded up to the page size. */
uint64_t gen_pvp_region_bytes(const gen_pvp_params_t *p);
/* Offset of the accessed buffer (virtio-net header) in a pool object. */
uint64_t gen_pvp_buf_offset(const gen_pvp_params_t *p);
int gen_pvp_write(const gen_pvp_params_t *p, const char *path, bool text,
                  iosim_err_t *err);

#endif /* IOSIM_GEN_H */
