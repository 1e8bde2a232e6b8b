/* gen_nic_internal.h — what the files of `gen nic` share (not part of
 * the library's API; sim/trace/gen.h is): the generator's state, the
 * sizes its options give, and the functions one job calls in another.
 *
 * Concepts: the generator is split by job, each file a part of the
 *   driver and device it models (docs/gen-nic.md is the manual):
 *   - gen_nic_layout.c  sizes from the options (descriptors per ring,
 *                       queues), their checks, what a --driver-only trace
 *                       implies for the device model completing it;
 *   - gen_nic_emit.c    IOVA and frame allocation, the records (the one
 *                       place they leave), --unmap-ns cpu streams;
 *   - gen_nic_rings.c   device rings, the rx page cache, posting rx
 *                       descriptors, --channels;
 *   - gen_nic_rx.c      NAPI polls and the device's rx writes;
 *   - gen_nic_tx.c      ACKs and tx packets;
 *   - gen_nic.c         the packet loop and gen_nic_write;
 *   - gen_nic_opts.c    the option table of `iosim-trace gen nic`.
 * Assumptions: included only by those files.
 * Not modeled: see gen_nic.c.
 */
#ifndef IOSIM_GEN_NIC_INTERNAL_H
#define IOSIM_GEN_NIC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/iova.h"
#include "trace/gen.h"
#include "trace/merge.h"

#define NIC_PAGE 4096ULL
/* Placeholder physical base (any distinct aligned frames do). */
#define GEN_NIC_PHYS_BASE 0x2000000000ULL
#define NIC_PHYS_FRAMES_LOG2 22

typedef struct nic_page {
    uint64_t iova;
    uint64_t phys;
    /* --unmap-ns: cpu time at which the page was posted to the ring */
    uint64_t post_t;
    /* --rx-cache: the page is free (the application has dropped its skb
     * fragments) once its queue has received free_at packets; 0 = never
     * written since posted, NIC_UNDELIVERED = written since the last poll */
    uint64_t free_at;
} nic_page_t;

#define NIC_UNDELIVERED UINT64_MAX

/* An rx queue: one per flow, or one per cpu with --queue-per-cpu. */
typedef struct nic_rxq {
    nic_page_t *ring; /* posted rx pages, FIFO (circular)             */
    size_t head, count, cap;
    uint64_t ndesc;    /* posted descriptors not yet used up            */
    uint64_t cur_left; /* pages left in the head descriptor, 0 = unused */
    nic_page_t *wqe;   /* --stride: pages of the open descriptor        */
    uint64_t wqe_off;  /* --stride: bytes of it used so far             */
    bool wqe_open;
    nic_page_t *pending; /* filled pages awaiting the next poll       */
    size_t npending;
    uint64_t pending_pkts; /* packets since the last poll               */
    uint8_t cpu;
    /* --device-rings: receive queue (WQEs) and completion queue (CQEs) */
    uint64_t rq_iova, cq_iova, rq_pages, cq_pages, rq_idx, cq_idx;
    /* --device-rings: the channel's tx queue and tx completion queue (one
     * page each): mlx5 opens one SQ per channel (and traffic class), and
     * XPS sends from a cpu through its own channel's SQ (en_main.c
     * mlx5e_open_channel / mlx5e_set_xps), so the flows of a queue share
     * it */
    uint64_t sq_iova, txcq_iova, sq_idx, txcq_idx;
    /* --rx-cache: the rq's page cache, a FIFO of rx_cache slots holding
     * at most rx_cache - 1 mapped pages (en.h struct mlx5e_page_cache) */
    nic_page_t *cache;
    size_t cache_head, cache_count;
    uint64_t rx_pkts;   /* packets received by the queue so far */
    uint64_t skip_pkts; /* --stagger-wqes: packets' worth of the first
                         * descriptor used before the window           */
} nic_rxq_t;

/* --unmap-ns: a cpu's stream of records not yet written, in time order
 * (a FIFO), and the time the cpu is busy until.  Per cpu, not per queue:
 * the polls of queues sharing a cpu run one after the other and share
 * its IOVA rcache. */
typedef struct nic_cpu {
    iosim_rec_t *recs;
    size_t head, count, cap;
    uint64_t t;
} nic_cpu_t;

typedef struct nic_flow {
    nic_rxq_t *q;
    uint64_t pending_data;     /* rx data packets since the last poll */
    uint64_t rx_data, tx_data; /* data packets acknowledged           */
    uint64_t gro_single;       /* --gro-segments: unacked 1-segment skbs */
    uint8_t cpu;
} nic_flow_t;

/* --channels: pfns allocated for a cpu's queues when the channels
 * opened, taken (in order) by their first ring fill. */
typedef struct nic_prefill {
    uint64_t *pfn;
    size_t head, n;
} nic_prefill_t;

typedef struct nic {
    const gen_nic_params_t *p;
    gen_out_t *o;
    iosim_err_t *err;
    nic_flow_t *flows;
    nic_rxq_t *qs;
    uint64_t nq;            /* rx queues */
    iova_domain_t *iovad;   /* the device's DMA domain */
    nic_prefill_t *prefill; /* --channels: one per cpu */
    uint64_t phys_n, phys_mul, phys_add;
    uint64_t ring_desc, pkt_pages, ack_pages;
    nic_page_t *tmp; /* pages of the packet in hand */
    uint64_t t;      /* ns of the current slot */
    uint64_t packets;
    nic_cpu_t *cpu_s;    /* --unmap-ns: one stream per cpu */
    trace_merge_t cpu_m; /* --unmap-ns: the cpu streams' merge */
    nic_cpu_t *cpu_on;   /* --unmap-ns: the cpu whose poll is running */
    uint64_t last_t;     /* --unmap-ns: time of the last record written */
    nic_page_t *idle;    /* --channels: ring pages of the idle channels */
    uint64_t nidle;
} nic_t;

/* The device model's entries: mlx5 WQE stride / CQE size (64 B CQEs). */
#define NIC_RING_ENTRY 64ULL

static inline uint64_t pages_for(uint64_t bytes)
{
    return (bytes + NIC_PAGE - 1) / NIC_PAGE;
}

/* Bytes the device writes for one rx data packet. */
static inline uint64_t rx_bytes_of(const gen_nic_params_t *p)
{
    return p->mtu + p->rx_header;
}

/* --stride: bytes one packet of `bytes` occupies in a descriptor. */
static inline uint64_t stride_len(const gen_nic_params_t *p, uint64_t bytes)
{
    return (bytes + p->stride - 1) / p->stride * p->stride;
}

/* Data packets one rx descriptor holds. */
static inline uint64_t pkts_per_desc(const gen_nic_params_t *p)
{
    if (p->stride)
        return p->ppd * NIC_PAGE / stride_len(p, rx_bytes_of(p));
    return p->ppd / pages_for(rx_bytes_of(p));
}

/* gen_nic_layout.c */
uint64_t nic_ring_desc_of(const gen_nic_params_t *p);
uint64_t nic_rxq_count(const gen_nic_params_t *p);

/* gen_nic_emit.c */
int nic_iova_alloc(nic_t *n, uint8_t cpu, uint64_t pages, uint64_t *iova);
void nic_iova_free(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t pages);
uint64_t nic_phys_alloc(nic_t *n);
int nic_cpu_flush_due(nic_t *n, uint64_t t);
int nic_cpu_flush_forced(nic_t *n, nic_cpu_t *c, uint64_t until);
int nic_emit(nic_t *n, uint8_t kind, uint8_t cpu, uint64_t iova, uint64_t size,
             uint64_t aux, uint8_t flags);
int nic_map_page(nic_t *n, uint8_t cpu, bool device_writes, nic_page_t *pg);
int nic_unmap_page(nic_t *n, uint8_t cpu, const nic_page_t *pg);
int nic_dma_pages(nic_t *n, uint8_t cpu, const nic_page_t *pg, uint64_t npages,
                  uint64_t bytes, bool write);

/* gen_nic_rings.c */
int nic_ring_access(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t npages,
                    uint64_t *idx, bool write);
int nic_rings_create(nic_t *n, uint64_t i);
int nic_rings_destroy(nic_t *n, uint64_t i);
void nic_rx_cache_deliver(nic_t *n, nic_rxq_t *q);
int nic_rx_page_release(nic_t *n, nic_rxq_t *q, const nic_page_t *pg);
int nic_ring_refill(nic_t *n, nic_rxq_t *q);
int nic_channels_open(nic_t *n);
nic_page_t nic_ring_pop(nic_rxq_t *q);

/* gen_nic_rx.c */
int nic_rxq_poll(nic_t *n, nic_rxq_t *q);
int nic_rx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes, bool data);

/* gen_nic_tx.c */
int nic_flow_acks(nic_t *n, nic_flow_t *f);
int nic_tx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes);

#endif /* IOSIM_GEN_NIC_INTERNAL_H */
