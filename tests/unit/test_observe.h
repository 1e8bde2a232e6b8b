/* test_observe.h — the invalidation submissions a sim makes, recorded by
 * an observer (sim_observe_submits) for model tests.
 * Concepts: every descriptor in order, with the index of the submission
 *   (qi_submit_sync) that carried it; a sim observed from its start
 *   (observed_sim) and one descriptor's expected fields (expect_desc) for
 *   the driver's NIC of test_util.h (TEST_DEV in TEST_DID).
 * Assumptions: at most SEEN_MAX descriptors per test (more are dropped,
 *   submissions still counted).  Not modeled: nothing. */
#ifndef IOSIM_TEST_OBSERVE_H
#define IOSIM_TEST_OBSERVE_H

#include <string.h>

#include "system/services.h"
#include "test_util.h"

#define SEEN_MAX 64
typedef struct seen {
    vtd_desc_t d[SEEN_MAX];
    size_t batch_of[SEEN_MAX]; /* submission index of each descriptor */
    size_t n, batches;
} seen_t;

static TEST_UNUSED void observe(void *arg, const vtd_desc_t *d, size_t n)
{
    seen_t *s = arg;
    for (size_t i = 0; i < n && s->n < SEEN_MAX; i++) {
        s->batch_of[s->n] = s->batches;
        s->d[s->n++] = d[i];
    }
    s->batches++;
}

/* A sim of the settings (sim_from_sets_meta; meta NULL: none) whose
 * submissions go to seen, emptied first. */
static TEST_UNUSED iosim_sim_t *observed_sim(const char *const *sets,
                                             const iosim_trace_meta_t *meta,
                                             seen_t *seen)
{
    iosim_sim_t *s = sim_from_sets_meta(sets, meta);
    memset(seen, 0, sizeof *seen);
    sim_observe_submits(s, observe, seen);
    return s;
}

/* Descriptor i: carried by submission batch, of type and granularity;
 * a page-selective one at addr with address mask am; IH ih; an IOTLB or
 * P_IOTLB one for domain TEST_DID (a P_IOTLB one for PASID 0: RID2PASID),
 * a device-TLB one for source TEST_DEV. */
static TEST_UNUSED void expect_desc(const seen_t *s, size_t i, size_t batch,
                                    uint8_t type, uint8_t gran, uint64_t addr,
                                    uint8_t am, bool ih)
{
    assert_true(i < s->n);
    assert_int_equal(s->batch_of[i], batch);
    assert_int_equal(s->d[i].type, type);
    assert_int_equal(s->d[i].gran, gran);
    if (gran == IOSIM_GRAN_PAGE) {
        assert_int_equal(s->d[i].addr, addr);
        assert_int_equal(s->d[i].am, am);
    }
    if (type == IOSIM_DESC_IOTLB || type == IOSIM_DESC_PIOTLB)
        assert_int_equal(s->d[i].did, TEST_DID);
    else
        assert_int_equal(s->d[i].sid, TEST_DEV);
    if (type == IOSIM_DESC_PIOTLB)
        assert_int_equal(s->d[i].pasid, 0);
    assert_int_equal(s->d[i].ih, ih);
}

#endif
