/* dev_params.h — the device models' parameters in the resolved
 * configuration (struct iosim_config.dev).
 *
 * Concepts: each model keeps its parameters in its own struct below and
 *   declares their rows (`dev.<model>.*`: type, default, range, help,
 *   source) in its own file; sim/config/plugin_params.c lists the table.
 * Assumptions: plain data, copied with the configuration.
 * Not modeled: nothing.
 */
#ifndef IOSIM_DEV_PARAMS_H
#define IOSIM_DEV_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#define IOSIM_DEV_NAME_LEN 32

/* touch (dev_touch.c): every mapped byte once, just before the unmap */
struct dev_touch_params {
    uint32_t granule;                /* bytes per access                */
    char dir[IOSIM_DEV_NAME_LEN];    /* write | read                    */
};

/* virtio-net (dev_virtio_net.c): QEMU's emulated virtio-net (split
 * rings, mergeable rx buffers) as its ring and buffer translations */
struct dev_virtio_net_params {
    uint32_t rx_queue_size;   /* descriptors of rx virtqueue 0          */
    uint32_t tx_queue_size;   /* descriptors of tx virtqueue 0          */
    uint32_t ctrl_queue_size; /* descriptors of the control virtqueue   */
    uint32_t vring_align;     /* split-ring used-ring alignment (bytes) */
    uint64_t ring_top;        /* the rings' IOVAs end here (top-down)   */
    uint64_t rx_ring_iova;    /* 0 = derived from ring_top              */
    uint64_t tx_ring_iova;    /* 0 = derived                            */
    uint64_t ctrl_ring_iova;  /* 0 = derived                            */
    bool event_idx;           /* VIRTIO_RING_F_EVENT_IDX negotiated     */
    bool shadow_heads;        /* QEMU >= 8.2 virtqueue_num_heads        */
    uint32_t napi_budget;     /* rx NAPI budget (refill threshold)      */
    uint32_t tx_burst;        /* QEMU virtio-net x-txburst              */
};

/* e1000e (dev_e1000e.c) */
struct dev_e1000e_params {
    uint32_t rx_ring_size;   /* rx descriptors                          */
    uint32_t tx_ring_size;   /* tx descriptors                          */
    uint64_t tx_ring_iova;   /* IOVA of the tx ring; 0 = derived        */
    uint64_t rx_ring_iova;   /* IOVA of the rx ring; 0 = derived        */
    uint64_t ring_top;       /* derived ring IOVAs end here (top-down)  */
    uint32_t tx_max_per_txd; /* bytes of a map per tx data descriptor   */
    bool rx_ring_full;       /* trace begins with the rx ring posted    */
    bool tx_ctx_desc;        /* a context descriptor per tx packet      */
    bool tx_wb_every_desc;   /* every tx descriptor written back        */
    bool rx_status_write;    /* rx status (DD) written separately       */
};

/* mlx5 (dev_mlx5.c): ConnectX-5/6, striding rx queue, page_pool */
struct dev_mlx5_params {
    uint32_t channels;       /* rx/tx queue pairs in use                */
    char rx_pages[IOSIM_DEV_NAME_LEN]; /* page-pool | unmap-per-page    */
    char rings[IOSIM_DEV_NAME_LEN];    /* traced | none                 */
    uint32_t rx_wqes;        /* multi-packet WQEs per rx queue          */
    uint32_t pages_per_wqe;  /* 4 KB pages one rx WQE covers            */
    uint32_t stride;         /* bytes per stride of an rx WQE           */
    uint32_t rx_cqes;        /* entries of an rx completion queue       */
    uint32_t tx_wqes;        /* 64 B WQE slots of a send queue          */
    uint32_t tx_cqes;        /* entries of a tx completion queue        */
    uint32_t wqe_bytes;      /* bytes the device reads per WQE          */
    uint32_t cqe_bytes;      /* bytes the device writes per CQE         */
    uint32_t mps;            /* PCIe max payload size (write TLPs)      */
    uint32_t mrrs;           /* PCIe max read request size (read TLPs)  */
    uint32_t packet_bytes;   /* bytes of one received packet            */
    uint32_t rx_per_mark;    /* rx packets per MARK request record      */
    double rx_gbps;          /* rx packets arriving at this rate; 0 off */
    uint64_t tx_map_max;     /* largest map taken as a tx buffer        */
    char profile[IOSIM_DEV_NAME_LEN];  /* mlx5e | gen-nic               */
    uint32_t tx_bytes;       /* bytes read of a tx map; 0 = the map     */
    bool stagger_wqes;       /* gen-nic: channels' first WQEs offset    */
};

struct iosim_dev_config {
    char model[IOSIM_DEV_NAME_LEN]; /* auto | none | a registered model */
    struct dev_touch_params touch;
    struct dev_virtio_net_params virtio_net;
    struct dev_e1000e_params e1000e;
    struct dev_mlx5_params mlx5;
};

#endif
