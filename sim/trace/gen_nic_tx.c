/* gen_nic_tx.c — `gen nic`: the tx side: the ACKs a flow owes
 * (--ack-every, GRO's rule with --gro-segments) and sending a buffer
 * (map, device read, unmap).  gen_nic_internal.h says how the files
 * divide the generator. */
#include "trace/gen_nic_internal.h"

/* The ACKs flow f owes for the data packets it received since the last
 * poll.  Default: one per --ack-every data packets.  --gro-segments G:
 * GRO (flushed at the end of the poll) merges them into skbs of up to G
 * segments; TCP acks at once when an skb brings more than one full
 * segment (net/ipv4/tcp_input.c __tcp_ack_snd_check: rcv_nxt - rcv_wup
 * > rcv_mss) and otherwise every second 1-segment skb (delayed ACK). */
int nic_flow_acks(nic_t *n, nic_flow_t *f)
{
    const gen_nic_params_t *p = n->p;
    if (!p->ack_every) {
        f->pending_data = 0;
        return 0;
    }
    if (!p->gro_segs) {
        for (; f->pending_data; f->pending_data--)
            if (++f->rx_data % p->ack_every == 0 &&
                nic_tx_packet(n, f, p->ack_bytes))
                return -1;
        return 0;
    }
    while (f->pending_data) {
        uint64_t segs =
            f->pending_data < p->gro_segs ? f->pending_data : p->gro_segs;
        f->pending_data -= segs;
        bool ack = segs >= 2 || ++f->gro_single >= 2;
        if (ack) {
            f->gro_single = 0; /* an ACK covers everything received */
            if (nic_tx_packet(n, f, p->ack_bytes))
                return -1;
        }
    }
    return 0;
}

/* The driver sends a bytes-long buffer: map, device read, unmap at once
 * (the tx completion is not batched: gen-nic.md Assumptions). */
int nic_tx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes)
{
    uint64_t np = pages_for(bytes);
    for (uint64_t i = 0; i < np; i++)
        if (nic_map_page(n, f->cpu, false, &n->tmp[i]))
            return -1;
    if (n->p->device_rings &&
        nic_ring_access(n, f->cpu, f->q->sq_iova, 1, &f->q->sq_idx, false))
        return -1;
    if (nic_dma_pages(n, f->cpu, n->tmp, np, bytes, false))
        return -1;
    if (n->p->device_rings &&
        nic_ring_access(n, f->cpu, f->q->txcq_iova, 1, &f->q->txcq_idx, true))
        return -1;
    for (uint64_t i = 0; i < np; i++)
        if (nic_unmap_page(n, f->cpu, &n->tmp[i]))
            return -1;
    return 0;
}
