/* gen_nic_rx.c — `gen nic`: the rx side: NAPI polls (release,
 * ACKs, repost) and the device's writes of a packet into a descriptor
 * (whole pages, or --stride granules).  gen_nic_internal.h says how the
 * files divide the generator. */
#include "trace/gen_nic_internal.h"

/* --stride: the device writes bytes at byte offset off of the descriptor
 * pages pg[]: one DMA write record per page the range touches, each
 * carrying the IOVA of its first byte in that page. */
static int dma_span(nic_t *n, uint8_t cpu, const nic_page_t *pg, uint64_t off,
                    uint64_t bytes)
{
    for (uint64_t at = off, end = off + bytes; at < end;) {
        uint64_t in = at % NIC_PAGE;
        uint64_t len = NIC_PAGE - in < end - at ? NIC_PAGE - in : end - at;
        if (nic_emit(n, IOSIM_REC_DMA, cpu, pg[at / NIC_PAGE].iova + in, len, 0,
                     IOSIM_DMA_WRITE))
            return -1;
        at += len;
    }
    return 0;
}

/* NAPI poll of rx queue q: release the pages of used-up descriptors
 * (unmap, or with --rx-cache keep them mapped in the cache), send the
 * ACKs of the flows the queue serves, repost used-up descriptors. */
static int rxq_poll_work(nic_t *n, nic_rxq_t *q)
{
    if (n->p->rx_cache)
        nic_rx_cache_deliver(n, q);
    for (size_t i = 0; i < q->npending; i++)
        if (nic_rx_page_release(n, q, &q->pending[i]))
            return -1;
    q->npending = 0;
    q->pending_pkts = 0;
    for (uint64_t i = (uint64_t)(q - n->qs); i < n->p->flows; i += n->nq)
        if (nic_flow_acks(n, &n->flows[i]))
            return -1;
    return nic_ring_refill(n, q);
}

/* With --unmap-ns the poll's records go to q's cpu stream, which starts
 * when the cpu is free again (a poll waits for the previous one). */
int nic_rxq_poll(nic_t *n, nic_rxq_t *q)
{
    if (!n->p->unmap_ns)
        return rxq_poll_work(n, q);
    nic_cpu_t *c = &n->cpu_s[q->cpu];
    if (c->t < n->t)
        c->t = n->t;
    n->cpu_on = c;
    int rc = rxq_poll_work(n, q);
    n->cpu_on = NULL;
    return rc;
}

/* --unmap-ns: the device is about to use pages pg[0..np): the cpu must
 * have posted them. */
static int device_needs(nic_t *n, nic_rxq_t *q, const nic_page_t *pg,
                        uint64_t np)
{
    uint64_t until = 0;
    for (uint64_t i = 0; i < np; i++)
        if (pg[i].post_t > until)
            until = pg[i].post_t;
    return n->p->unmap_ns && until > n->t
               ? nic_cpu_flush_forced(n, &n->cpu_s[q->cpu], until)
               : 0;
}

/* --stride: the open descriptor is used up; its pages go back at the
 * next poll (mlx5 releases a multi-packet WQE's pages when its last
 * stride is consumed). */
static void wqe_close(nic_t *n, nic_rxq_t *q)
{
    for (uint64_t i = 0; i < n->p->ppd; i++)
        q->pending[q->npending++] = q->wqe[i];
    q->wqe_open = false;
    q->ndesc--;
}

/* The device writes a bytes-long packet into rx queue q (page mode). */
static int rx_pages(nic_t *n, nic_rxq_t *q, uint64_t bytes)
{
    uint64_t np = pages_for(bytes);
    if (q->cur_left && q->cur_left < np) {
        /* the packet does not fit the rest of the descriptor: those
         * pages go back unused at the next poll */
        for (; q->cur_left; q->cur_left--)
            q->pending[q->npending++] = nic_ring_pop(q);
        q->ndesc--;
    }
    if (q->cur_left == 0) {
        if (q->ndesc == 0 && nic_rxq_poll(n, q)) /* ring ran dry: poll now */
            return -1;
        q->cur_left = n->p->ppd;
        /* --stagger-wqes: the first descriptor is partly used already;
         * those pages go back unused at the next poll */
        uint64_t skip = q->skip_pkts * pages_for(rx_bytes_of(n->p));
        for (; skip && q->cur_left > np; skip--) {
            q->pending[q->npending++] = nic_ring_pop(q);
            q->cur_left--;
        }
        q->skip_pkts = 0;
        /* the device fetches the WQE of the descriptor it starts */
        if (n->p->device_rings &&
            nic_ring_access(n, q->cpu, q->rq_iova, q->rq_pages, &q->rq_idx,
                            false))
            return -1;
    }
    nic_page_t *pg = &q->pending[q->npending];
    for (uint64_t i = 0; i < np; i++) {
        q->pending[q->npending] = nic_ring_pop(q);
        q->pending[q->npending++].free_at = NIC_UNDELIVERED;
    }
    if (device_needs(n, q, pg, np) ||
        nic_dma_pages(n, q->cpu, pg, np, bytes, true))
        return -1;
    q->cur_left -= np;
    if (q->cur_left == 0)
        q->ndesc--;
    return 0;
}

/* The device writes a bytes-long packet into rx queue q (--stride). */
static int rx_strides(nic_t *n, nic_rxq_t *q, uint64_t bytes)
{
    uint64_t len = stride_len(n->p, bytes);
    uint64_t wqe_bytes = n->p->ppd * NIC_PAGE;
    if (q->wqe_open && q->wqe_off + len > wqe_bytes)
        wqe_close(n, q); /* the rest of the WQE is a filler */
    if (!q->wqe_open) {
        if (q->ndesc == 0 && nic_rxq_poll(n, q)) /* ring ran dry: poll now */
            return -1;
        for (uint64_t i = 0; i < n->p->ppd; i++)
            q->wqe[i] = nic_ring_pop(q);
        q->wqe_open = true;
        q->wqe_off = q->skip_pkts * len; /* --stagger-wqes */
        q->skip_pkts = 0;
        if (device_needs(n, q, q->wqe, n->p->ppd))
            return -1;
        if (n->p->device_rings &&
            nic_ring_access(n, q->cpu, q->rq_iova, q->rq_pages, &q->rq_idx,
                            false))
            return -1;
    }
    if (dma_span(n, q->cpu, q->wqe, q->wqe_off, bytes))
        return -1;
    for (uint64_t pg = q->wqe_off / NIC_PAGE;
         pg <= (q->wqe_off + bytes - 1) / NIC_PAGE; pg++)
        q->wqe[pg].free_at = NIC_UNDELIVERED;
    q->wqe_off += len;
    if (q->wqe_off == wqe_bytes)
        wqe_close(n, q);
    return 0;
}

/* A bytes-long packet of flow f arrives; data says whether TCP
 * acknowledges it. */
int nic_rx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes, bool data)
{
    nic_rxq_t *q = f->q;
    if (n->p->stride ? rx_strides(n, q, bytes) : rx_pages(n, q, bytes))
        return -1;
    if (n->p->device_rings && /* the completion of this packet */
        nic_ring_access(n, q->cpu, q->cq_iova, q->cq_pages, &q->cq_idx, true))
        return -1;
    f->pending_data += data;
    q->rx_pkts++;
    if (++q->pending_pkts >= n->p->napi_batch)
        return nic_rxq_poll(n, q);
    return 0;
}
