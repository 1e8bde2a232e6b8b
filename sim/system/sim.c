/* sim.c — one model instance: routes records to the OS policy, the
 * hypervisor mode and the hardware, and accounts time (see sim.h). */
#include "system/sim.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "base/zmem.h"
#include "dev/dev.h"
#include "hv/hv.h"
#include "os/os.h"
#include "vtd/vtd_quick.h"

/* ---- services for plug-ins ------------------------------------------- */

void sim_cpu(iosim_sim_t *s, sim_cpu_cause_t cause, double cycles)
{
    static const enum iosim_stat_id ids[] = {
#define IOSIM_X_CAUSE(a, id, field, what, help)                                \
    [SIM_CPU_##id] = IOSIM_ST_CPU_##id##_CYC,
        IOSIM_CPU_COSTS(IOSIM_X_CAUSE, )
#undef IOSIM_X_CAUSE
    };
    if (cycles > 0) {
        uint64_t c = (uint64_t)(cycles + 0.5);
        s->st[ids[cause]] += c;
        s->st[IOSIM_ST_CPU_IOMMU_CYC] += c;
        s->load.cycles[s->cur_cpu] += c;
    }
}

const iosim_config_t *sim_config(const iosim_sim_t *s) { return s->cfg; }
uint64_t sim_now(const iosim_sim_t *s) { return s->now; }
const iosim_trace_meta_t *sim_meta(const iosim_sim_t *s) { return &s->meta; }
bool sim_os_translates(const iosim_sim_t *s) { return s->os->translates; }
vtd_t *sim_vtd(const iosim_sim_t *s) { return s->vtd; }

void sim_count(iosim_sim_t *s, enum iosim_stat_id id, uint64_t n)
{
    s->st[id] += n;
}

void sim_out_of_memory(iosim_sim_t *s) { s->out_of_memory = true; }

/* ---- read-only views (system.h) ---------------------------------------- */

const uint64_t *sim_counters(const iosim_sim_t *s) { return s->st; }
const uint64_t *sim_latency_hist(const iosim_sim_t *s)
{
    return s->lat_ns_hist;
}
const sim_cpu_load_t *sim_cpu_load(const iosim_sim_t *s) { return &s->load; }

void sim_observe_window(iosim_sim_t *s, sim_window_observer_fn fn, void *arg)
{
    s->window_observer = fn;
    s->window_observer_arg = arg;
}

/* ---- a shared front's log (system.h sim_front_attach) ----------------- */

static void front_pool_free(struct front_pool *p);

/* Logs a front with a pool of threads fills in turn (sim_front_threads):
 * how far it may run ahead of its slowest back end. */
#define FRONT_LOGS 16u
/* Log entries a round of the pool holds at least, an EV_ONE run's
 * requests each counted: about a batch of one-page requests (96 KB of
 * front_one_t), so that a log and the back ends a thread runs on it stay
 * in one core's L2 (see front_pool_pick); the ring is 1.5 MB or so,
 * whatever the trace's length. */
#define FRONT_ROUND_MIN 4096u

typedef enum front_kind {
    EV_MAP,    /* a: iova, b: size, c: phys, flag: write; want.n      */
    EV_UNMAP,  /* a: iova, b: size; want.n                            */
    EV_SUBMIT, /* a: first of ev_desc, b: count; want.ns              */
    EV_ATTACH, /* sid -> did                                          */
    EV_ONE,    /* a run: a: its first in one[], b: their count        */
    EV_REQ,    /* b: size, c: pages, flag: write; the pages follow    */
    EV_PAGE,   /* a: address, flag: mapped in the trace's view        */
    EV_WINDOW, /* flag: begin                                         */
    EV_QUIET   /* flag: begin (sim_os_uncounted: counts put back)     */
} front_kind_t;

typedef struct front_ev {
    uint8_t kind;
    bool flag;
    uint16_t sid, did;
    uint32_t pasid;
    uint64_t a, b, c;
    union {
        long n;    /* what the front's own tables answered */
        double ns; /* the front's own queue's time */
    } want;
} front_ev_t;

/* A request of one page (sim_front_one): what a back end's translation
 * and device pipeline read of it, in half of a front_ev_t's 48 bytes (a
 * log is read by every back end; on 16 geometries of a random stream
 * the one-page requests are all but every entry). */
typedef struct front_one {
    uint64_t key;  /* vtd_quick_key(sid, pasid, did): holds all three */
    uint64_t iova; /* the request's, within one page */
    uint32_t size; /* > 0, <= 4096 */
    bool write;
} front_one_t;
_Static_assert(sizeof(front_one_t) == 24, "a one-page request in 24 bytes");

/* A log: its entries, the descriptors of its submissions and the
 * requests of its EV_ONE runs. */
typedef struct front_log {
    front_ev_t *ev;
    size_t nev, ev_cap;
    vtd_desc_t *desc;
    size_t ndesc, desc_cap;
    front_one_t *one;
    size_t none, one_cap;
} front_log_t;

/* A new entry of the front's log (NULL, the run failing with "out of
 * memory" at the batch's end, when it cannot grow). */
static front_ev_t *front_log(iosim_sim_t *s, uint8_t kind)
{
    front_log_t *L = &s->log[s->cur];
    if (vec_reserve(&L->ev, &L->ev_cap, L->nev + 1, 4096)) {
        s->front_oom = true;
        return NULL;
    }
    front_ev_t *e = &L->ev[L->nev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static void front_log_tables(iosim_sim_t *s, bool map, uint16_t did,
                             uint64_t iova, uint64_t phys, uint64_t size,
                             bool write, long n)
{
    front_ev_t *e = front_log(s, map ? EV_MAP : EV_UNMAP);
    if (e) {
        e->did = did;
        e->a = iova;
        e->b = size;
        e->c = phys;
        e->flag = write;
        e->want.n = n;
    }
}

static void front_log_submit(iosim_sim_t *s, const vtd_desc_t *d, size_t n,
                             double ns)
{
    front_log_t *L = &s->log[s->cur];
    if (vec_reserve(&L->desc, &L->desc_cap, L->ndesc + n, 256)) {
        s->front_oom = true;
        return;
    }
    front_ev_t *e = front_log(s, EV_SUBMIT);
    if (!e)
        return;
    memcpy(L->desc + L->ndesc, d, n * sizeof *d);
    e->a = L->ndesc;
    e->b = n;
    e->want.ns = ns;
    L->ndesc += n;
}

/* Context programming: sid's requests use domain did (logged for a
 * front's back ends, unless sid has that domain already: every back end's
 * context entries, set only by the log's attaches, are the front's at
 * that point of the log, so its attach would change nothing; a strict
 * policy attaches at every map). */
static void sim_attach(iosim_sim_t *s, uint16_t sid, uint16_t did)
{
    const bool log = s->nbacks && vtd_domain_of(s->vtd, sid) != did;
    vtd_attach(s->vtd, sid, did);
    front_ev_t *e = log ? front_log(s, EV_ATTACH) : NULL;
    if (e) {
        e->sid = sid;
        e->did = did;
    }
}

long sim_iommu_map(iosim_sim_t *s, uint16_t did, uint64_t iova, uint64_t phys,
                   uint64_t size, bool write, iosim_err_t *err)
{
    long n = s->hv->map(s->hv_state, did, iova, phys, size, write, err);
    if (s->nbacks) /* a failed map may have mapped a prefix: logged too */
        front_log_tables(s, true, did, iova, phys, size, write, n);
    return n;
}

long sim_iommu_unmap(iosim_sim_t *s, uint16_t did, uint64_t iova, uint64_t size,
                     iosim_err_t *err)
{
    long n = s->hv->unmap(s->hv_state, did, iova, size, err);
    if (s->nbacks)
        front_log_tables(s, false, did, iova, 0, size, false, n);
    return n;
}

void sim_observe_submits(iosim_sim_t *s, sim_submit_observer_fn fn, void *arg)
{
    s->observer = fn;
    s->observer_arg = arg;
}

void sim_iommu_submit(iosim_sim_t *s, const vtd_desc_t *d, size_t n)
{
    if (s->observer)
        s->observer(s->observer_arg, d, n);
    s->st[IOSIM_ST_OS_SUBMITS]++;
    for (size_t i = 0; i < n; i++) {
        if (d[i].type == IOSIM_DESC_IOTLB || d[i].type == IOSIM_DESC_PIOTLB)
            s->st[IOSIM_ST_OS_INVAL_IOTLB]++;
        if (d[i].type == IOSIM_DESC_PIOTLB)
            s->st[IOSIM_ST_OS_INVAL_PIOTLB]++;
        else if (d[i].type == IOSIM_DESC_DEVTLB ||
                 d[i].type == IOSIM_DESC_PDEVTLB)
            s->st[IOSIM_ST_OS_INVAL_DEVTLB]++;
    }
    double ns = s->hv->submit(s->hv_state, d, n);
    if (s->nbacks)
        front_log_submit(s, d, n, ns);
    /* qi_submit_sync() spins until the wait descriptor's status write:
     * the CPU pays its own submit cost plus the queue's processing time
     * (MODEL.md §1.7). */
    sim_cpu(s, SIM_CPU_INVAL, s->cfg->os.inval_submit_cycles + ns * s->cpu_ghz);
}

/* ---- lifecycle -------------------------------------------------------- */

static int sim_dev_create(iosim_sim_t *s, const iosim_trace_meta_t *meta,
                          iosim_err_t *err);

iosim_sim_t *iosim_sim_new(const iosim_config_t *cfg, const char *label,
                           const iosim_trace_meta_t *meta, iosim_err_t *err)
{
    if (iosim_config_validate(cfg, err))
        return NULL;
    /* 150 KB, mostly the latency histograms: pages on first touch
     * (base/zmem.h), not cleared at each sim of a sweep */
    iosim_sim_t *s = zmem_alloc(sizeof *s);
    if (!s)
        return iosim_err_set(err, "out of memory"), NULL;
    snprintf(s->label, sizeof s->label, "%s", label ? label : "sim");
    s->cfg = iosim_config_clone(cfg);
    if (!s->cfg)
        goto oom;
    if (meta)
        s->meta = *meta;
    /* the settings the trace implies, where the configuration gives none
     * itself; then os.kernel auto takes the trace's kernel
     * (sim/os/os_kernel.c) */
    if (iosim_config_apply_trace(s->cfg, meta, err) ||
        os_kernel_resolve(s->cfg, meta, err)) {
        iosim_sim_free(s);
        return NULL;
    }
    cfg = s->cfg;
    s->os = os_policy_find(cfg->os.policy);
    s->hv = hv_mode_find(cfg->hv.mode);
    if (!s->os || !s->hv) {
        iosim_err_set(err, "%s: unknown %s '%s'", s->label,
                      s->os ? "hv.mode" : "os.policy",
                      s->os ? cfg->hv.mode : cfg->os.policy);
        iosim_sim_free(s);
        return NULL;
    }
    physmem_init(&s->live_mem, 0);
    if (pgtable_init(&s->live, 5, &s->live_mem))
        goto oom;
    /* large maps as large leaves (a 1 GB map is one entry, not 262,144),
     * split again where the trace unmaps part of one */
    s->live.split_large = true;
    s->live_ready = true;
    physmem_init(&s->premap_mem, 0);
    if (pgtable_init(&s->premap, 5, &s->premap_mem))
        goto oom;
    s->premap_ready = true;
    s->vtd = vtd_new(s->cfg, s->st, err);
    if (!s->vtd) {
        iosim_sim_free(s);
        return NULL;
    }
    s->pipe = dma_pipe_new(s->cfg, s->st, err);
    if (!s->pipe || (s->hv->walks_in_flight &&
                     inflight_new(cfg->vtd.inval_walks_in_flight, s->pipe,
                                  s->st, &s->inflight, err))) {
        iosim_sim_free(s);
        return NULL;
    }
    s->hv_state = s->hv->create(s, err);
    if (!s->hv_state) {
        iosim_sim_free(s);
        return NULL;
    }
    s->os_state = s->os->create(s, err);
    if (!s->os_state) {
        iosim_sim_free(s);
        return NULL;
    }
    if (sim_dev_create(s, meta, err)) {
        iosim_sim_free(s);
        return NULL;
    }
    s->cpu_ghz = cfg->os.cpu_ghz;
    s->fast_path = true;
    return s;
oom:
    iosim_sim_free(s);
    return iosim_err_set(err, "out of memory"), NULL;
}

void iosim_sim_free(iosim_sim_t *s)
{
    if (!s)
        return;
    /* first: a run that failed left its pool's helpers on published logs,
     * which read the back ends' list and the logs (front_pool_run) */
    front_pool_free(s->pool);
    if (s->os && s->os_state && s->os->destroy)
        s->os->destroy(s->os_state);
    if (s->hv && s->hv_state && s->hv->destroy)
        s->hv->destroy(s->hv_state);
    if (s->dev && s->dev_state && s->dev->destroy)
        s->dev->destroy(s->dev_state);
    vtd_free(s->vtd);
    inflight_free(s->inflight);
    dma_pipe_free(s->pipe);
    free(s->ahead);
    free(s->ahead_no);
    free(s->backs);
    for (unsigned k = 0; s->log && k < FRONT_LOGS; k++) {
        free(s->log[k].ev);
        free(s->log[k].desc);
        free(s->log[k].one);
    }
    free(s->log);
    sim_dump_free(s->dump);
    if (s->live_ready)
        pgtable_fini(&s->live);
    physmem_fini(&s->live_mem);
    if (s->premap_ready)
        pgtable_fini(&s->premap);
    physmem_fini(&s->premap_mem);
    iosim_config_free(s->cfg);
    zmem_free(s, sizeof *s);
}

const char *iosim_sim_label(const iosim_sim_t *s) { return s->label; }

void sim_note_substitution(iosim_sim_t *s, const char *what)
{
    size_t len = strlen(s->label);
    snprintf(s->label + len, sizeof s->label - len, " (%s)", what);
}

bool iosim_sim_failed_record(const iosim_sim_t *s, uint64_t *record)
{
    if (s->record_failed && record)
        *record = s->record_no;
    return s->record_failed;
}

const iosim_config_t *iosim_sim_config(const iosim_sim_t *s) { return s->cfg; }

/* ---- DMA ------------------------------------------------------------- */

/* One look at the trace's view (s->live): mapped, and where to (w: only
 * when the OS policy does not translate, and the live view is ready). */
typedef struct sim_live_walk {
    bool mapped;
    pt_walk_t w;
} sim_live_walk_t;

/* inflight.h's view of the trace and its translation of a walk again */
static bool sim_inflight_live(void *arg, uint64_t trace_iova)
{
    const iosim_sim_t *s = arg;
    return pgtable_is_mapped(&s->live, trace_iova);
}

static vtd_xlate_result_t sim_inflight_translate(void *arg,
                                                 const inflight_walk_t *w)
{
    iosim_sim_t *s = arg;
    return s->hv->translate(s->hv_state, w->sid, w->pasid, w->did, w->addr,
                            w->write);
}

/* Latency buckets of log2 width 2: < 4, 16, 64, 256, 1024, 4096, more,
 * i.e. bucket floor(log2(lat) / 2), at most 6 (0 for lat < 4). */
static inline unsigned lat_bucket(uint64_t lat_ns)
{
    if (lat_ns < 4)
        return 0;
    unsigned b = (63u - (unsigned)__builtin_clzll(lat_ns)) / 2u;
    return b > 6 ? 6 : b;
}

/* A request's latency lat_ns in the counters st and the histogram hist
 * (a sim's own, or a back end's of a shared front). */
static inline void sim_lat_count(uint64_t *st, uint64_t *hist, uint64_t lat_ns)
{
    st[IOSIM_ST_DMA_LAT_NS] += lat_ns;
    hist[lat_ns < SIM_LAT_SLOTS ? lat_ns : SIM_LAT_SLOTS - 1]++;
    st[IOSIM_ST_LAT_LT4 + lat_bucket(lat_ns)]++;
}

/* The address the device gives for page a of a request at iova (trace
 * IOVA trace_iova; first: see sim_dma): a itself, or without translation
 * (iommu=pt) the physical address the trace mapped it to, the one a
 * guest-passthrough host stage then translates. */
static inline uint64_t sim_dma_addr(const iosim_sim_t *s, uint64_t a,
                                    uint64_t iova, uint64_t trace_iova,
                                    const sim_live_walk_t *first)
{
    /* the first page's walk of the trace's view is known */
    bool known = first && a == iova;
    pt_walk_t w;
    if (!s->os->translates && s->live_ready &&
        (known ? first->mapped
               : pgtable_walk(&s->live, trace_iova + (a - iova), &w)))
        return known ? first->w.phys : w.phys;
    return a;
}

/* Whether page a's buffer is mapped in the trace's view (a cached
 * translation of it is stale otherwise). */
static inline bool sim_dma_live(const iosim_sim_t *s, uint64_t a, uint64_t iova,
                                uint64_t trace_iova,
                                const sim_live_walk_t *first)
{
    return first && a == iova
               ? first->mapped
               : pgtable_is_mapped(&s->live, trace_iova + (a - iova));
}

/* sim_dma of a shared front (sim_front_attach): the trace's view is
 * looked at once a page and the request logged for the back ends
 * (front_flush translates and times it in each). */
static void sim_dma_front(iosim_sim_t *s, uint16_t sid, uint32_t pasid,
                          uint16_t did, uint64_t iova, uint64_t trace_iova,
                          uint64_t size, bool write,
                          const sim_live_walk_t *first)
{
    s->st[IOSIM_ST_DMA_REQS]++;
    s->st[IOSIM_ST_DMA_BYTES] += size;
    uint64_t end = iova + size < iova ? UINT64_MAX : iova + size;
    size_t at = s->log[s->cur].nev;
    front_ev_t *q = front_log(s, EV_REQ);
    if (!q)
        return;
    *q = (front_ev_t){.kind = EV_REQ,
                      .flag = write,
                      .sid = sid,
                      .did = did,
                      .pasid = pasid,
                      .b = size};
    uint64_t pages = 0;
    for (uint64_t a = iova; a < end && a >= iova; a = (a & ~0xfffull) + 4096) {
        front_ev_t *e = front_log(s, EV_PAGE);
        if (!e)
            return;
        e->a = sim_dma_addr(s, a, iova, trace_iova, first);
        e->flag = sim_dma_live(s, a, iova, trace_iova, first);
        pages++;
    }
    s->log[s->cur].ev[at].c = pages;
    s->st[IOSIM_ST_DMA_PAGES_4K] += (size + 4095) / 4096;
}

/* One device request of size bytes at iova (split at 4 KB page borders:
 * each page needs its own translation), translated through the
 * hypervisor mode; its device time is the pipeline's (vtd/dma_pipe.h).
 * first: the trace's view (s->live) of trace_iova looked at already (the
 * input check of a DMA record), or NULL. */
static void sim_dma(iosim_sim_t *s, uint16_t sid, uint32_t pasid, uint16_t did,
                    uint64_t iova, uint64_t trace_iova, uint64_t size,
                    bool write, const sim_live_walk_t *first)
{
    if (size == 0)
        size = 1;
    if (s->nbacks) {
        sim_dma_front(s, sid, pasid, did, iova, trace_iova, size, write, first);
        return;
    }
    if (s->inflight)
        inflight_check(s->inflight, s->vtd, s->pipe, sim_inflight_live,
                       sim_inflight_translate, s);
    s->st[IOSIM_ST_DMA_REQS]++;
    s->st[IOSIM_ST_DMA_BYTES] += size;
    double lat = 0;
    /* a request running past the top of the 64-bit space stops there
     * (the page loop below must not wrap around to 0) */
    uint64_t end = iova + size < iova ? UINT64_MAX : iova + size;
    dma_req_t q;
    dma_pipe_begin(s->pipe, size, &q);
    for (uint64_t a = iova; a < end && a >= iova; a = (a & ~0xfffull) + 4096) {
        uint64_t addr = sim_dma_addr(s, a, iova, trace_iova, first);
        vtd_xlate_result_t r =
            s->hv->translate(s->hv_state, sid, pasid, did, addr, write);
        if (s->xlate_log)
            sim_xlate_log_row(s, sid, pasid, did, a, &r);
        if (s->dump)
            sim_dump_row(s, trace_iova, size, write, trace_iova + (a - iova),
                         &r);
        lat += r.latency_ns;
        dma_pipe_page(s->pipe, &q, r.latency_ns, r.mem_reads != 0);
        if (r.mem_reads && s->inflight)
            inflight_issued(
                s->inflight, q.slot,
                &(inflight_walk_t){.write = write,
                                   .sid = sid,
                                   .did = did,
                                   .pasid = pasid,
                                   .addr = addr,
                                   .trace_iova = trace_iova + (a - iova),
                                   .base_ns = (uint64_t)(q.base + 0.5)});
        if (r.fault)
            s->st[IOSIM_ST_DMA_FAULTS]++;
        else if ((r.iotlb_hit || r.devtlb_hit) && s->os->translates &&
                 !sim_dma_live(s, a, iova, trace_iova, first))
            s->st[IOSIM_ST_DMA_STALE]++; /* a cached translation of a
                                            buffer the OS has unmapped */
    }
    /* pages of data in 4 KB units (rounded up), the F&S "per 4 KB" unit */
    s->st[IOSIM_ST_DMA_PAGES_4K] += (size + 4095) / 4096;
    dma_pipe_end(s->pipe, &q, size, lat);
    sim_lat_count(s->st, s->lat_ns_hist, (uint64_t)(lat + 0.5));
}

/* ---- device model (sim/dev/dev.h) ------------------------------------ */

/* dev.model: auto replays the trace's DMA records when its metadata says
 * it has them, else runs the model the metadata names, else touch. */
static int sim_dev_create(iosim_sim_t *s, const iosim_trace_meta_t *meta,
                          iosim_err_t *err)
{
    const char *model = s->cfg->dev.model;
    bool has_dma = meta && meta->has_dma;
    if (!strcmp(model, "none"))
        return 0;
    if (!strcmp(model, "auto")) {
        if (has_dma)
            return 0;
        s->synth_by_meta = true;
        /* the registry's first model is the fallback (dev_registry.c) */
        model = meta && meta->device[0] ? meta->device
                                        : dev_model_registry[0]->name;
    }
    s->dev = dev_model_find(model);
    if (!s->dev)
        return iosim_err_key(err, "meta.device",
                             "dev.model auto: the "
                             "trace's metadata names device model '%s', "
                             "which iosim does not have (iosim --list; set "
                             "dev.model)",
                             model);
    s->dev_state = s->dev->create(s, err);
    return s->dev_state ? 0 : -1;
}

bool dev_live(const iosim_sim_t *s, uint64_t iova)
{
    return pgtable_is_mapped(&s->live, iova);
}

/* Physical address given to a pre-trace mapping: a region no trace
 * uses (the captures' guests have at most a few GiB; gen nic's frames
 * start at 128 GiB), page for page. */
#define SIM_PREMAP_PHYS_BASE (1ull << 44)

/* A page the device model touches that the trace does not have mapped:
 * its driver mapped it before the trace began (a coherent ring), so it is
 * mapped now, in the trace's view and by the OS policy (which gives it
 * its IOVA: a reallocating policy allocates one, so the ring cannot
 * collide with the policy's own IOVAs), and the costs of that map are not
 * counted: the map happened before the counted time.  The counters and
 * the per-CPU load are put back as they were; the model's state (tables,
 * shadows, caches) keeps the map. */
static void sim_os_uncounted(iosim_sim_t *s, const iosim_rec_t *r, bool map)
{
    static _Thread_local uint64_t saved[IOSIM_ST_COUNT];
    static _Thread_local sim_cpu_load_t load;
    memcpy(saved, s->st, sizeof saved);
    load = s->load;
    iosim_err_t ignored;
    front_ev_t *e = s->nbacks ? front_log(s, EV_QUIET) : NULL;
    if (e) /* a shared front's back ends put theirs back too */
        e->flag = true;
    if (map)
        s->os->map(s->os_state, r, &ignored);
    else
        s->os->unmap(s->os_state, r, &ignored);
    if (s->nbacks)
        front_log(s, EV_QUIET);
    memcpy(s->st, saved, sizeof saved);
    s->load = load;
}

/* Pages [page, page + size) of one access, none mapped: one buffer or
 * ring the driver mapped with one call (so a reallocating policy gives
 * them one IOVA range, as the kernel's allocator did).  Where that IOVA
 * and the physical address are both 2 MB (1 GB) aligned over 2 MB (1 GB)
 * the map gets a 2 MB (1 GB) leaf, as Linux's one dma_map_* does (sources
 * and cases: tests/unit/test_premap.c). */
static void sim_premap(iosim_sim_t *s, const iosim_rec_t *r, uint64_t page,
                       uint64_t size)
{
    uint64_t phys = SIM_PREMAP_PHYS_BASE | (page & ((1ull << 44) - 1));
    iosim_rec_t m = *r;
    m.kind = IOSIM_REC_MAP;
    m.iova = page;
    m.size = size;
    m.aux = phys;
    m.flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    if (pgtable_map(&s->live, page, phys, size, true, false) ==
            PGTABLE_ENOMEM ||
        pgtable_map(&s->premap, page, phys, size, true, false) ==
            PGTABLE_ENOMEM)
        s->out_of_memory = true;
    sim_attach(s, r->device, r->domain);
    sim_os_uncounted(s, &m, true);
}

/* The trace maps or unmaps [iova, iova+size) itself: pre-trace mappings
 * there are given up first, by the OS policy and uncounted (the trace's
 * own record brings whatever the kernel did). */
static void sim_premap_drop(iosim_sim_t *s, const iosim_rec_t *r)
{
    uint64_t end = r->iova + r->size < r->iova ? UINT64_MAX : r->iova + r->size;
    for (uint64_t a = r->iova & ~0xfffull;
         a < end && a >= (r->iova & ~0xfffull); a += 4096) {
        if (!pgtable_is_mapped(&s->premap, a))
            continue;
        iosim_rec_t u = *r;
        u.kind = IOSIM_REC_UNMAP;
        u.iova = a;
        u.size = 4096;
        pgtable_unmap(&s->premap, a, 4096, NULL);
        sim_os_uncounted(s, &u, false);
        if (pgtable_unmap(&s->live, a, 4096, NULL) == PGTABLE_ENOMEM)
            s->out_of_memory = true;
    }
}

void dev_access(iosim_sim_t *s, const iosim_rec_t *r, uint64_t iova,
                uint64_t size, bool write)
{
    dev_access_as(s, r, iova, size, write, NULL);
}

void dev_access_as(iosim_sim_t *s, const iosim_rec_t *r, uint64_t iova,
                   uint64_t size, bool write, const char *what)
{
    uint64_t end = iova + size < iova ? UINT64_MAX : iova + size;
    for (uint64_t a = iova & ~0xfffull; a < end && a >= (iova & ~0xfffull);
         a += 4096) {
        if (pgtable_is_mapped(&s->live, a))
            continue;
        uint64_t b = a + 4096; /* the run of pages not mapped */
        while (b < end && b > a && !pgtable_is_mapped(&s->live, b))
            b += 4096;
        sim_premap(s, r, a, b - a);
        a = b - 4096;
    }
    uint64_t model_iova = iova;
    if (s->os->dma_iova) {
        if (iova >= r->iova && iova - r->iova < r->size) {
            model_iova = s->os->dma_iova(s->os_state, r) + (iova - r->iova);
        } else {
            iosim_rec_t at = *r;
            at.kind = IOSIM_REC_DMA;
            at.iova = iova;
            at.size = size;
            model_iova = s->os->dma_iova(s->os_state, &at);
        }
    }
    s->st[IOSIM_ST_DMA_SYNTH]++;
    if (s->os->dma)
        s->os->dma(s->os_state, r, model_iova, size, write);
    s->dev_emitting = true;
    s->dev_what = what;
    sim_dma(s, r->device, r->pasid, r->domain, model_iova, iova, size, write,
            NULL);
    s->dev_emitting = false;
}

/* ---- record routing --------------------------------------------------- */

/* trace.duration_ns up to time t: 0 when t is older than the first
 * record (a trace whose time goes backwards must not wrap around). */
static uint64_t sim_span(const iosim_sim_t *s, uint64_t t)
{
    return t > s->t_first ? t - s->t_first : 0;
}

/* A back end of a shared front at a window's begin or end: what its own
 * window_mark does to the counts of its VT-d model and pipeline (the
 * front's counts are the front's). */
static void window_back(iosim_sim_t *b, bool begin)
{
    if (begin) {
        uint64_t peak = b->st[IOSIM_ST_MAPPINGS_PEAK];
        memset(b->st, 0, sizeof b->st);
        memset(b->lat_ns_hist, 0, sizeof b->lat_ns_hist);
        b->st[IOSIM_ST_MAPPINGS_PEAK] = peak;
        dma_pipe_restart(b->pipe);
    } else {
        memcpy(b->frozen, b->st, sizeof b->st);
        memcpy(b->lat_frozen, b->lat_ns_hist, sizeof b->lat_ns_hist);
    }
    if (b->window_observer)
        b->window_observer(b->window_observer_arg, begin);
}

static void window_mark(iosim_sim_t *s, const iosim_rec_t *r)
{
    if (!s->cfg->sim.window_only)
        return;
    if (r->flags == IOSIM_MARK_BEGIN) {
        /* restart counting; gauges of model state are kept */
        uint64_t peak = s->st[IOSIM_ST_MAPPINGS_PEAK];
        if (s->epochs.len_ns)
            sim_epoch_before_restart(s);
        memset(s->st, 0, sizeof s->st);
        memset(s->lat_ns_hist, 0, sizeof s->lat_ns_hist);
        memset(&s->load, 0, sizeof s->load);
        s->st[IOSIM_ST_MAPPINGS_PEAK] = peak;
        s->st[IOSIM_ST_REC_TOTAL] = 1; /* the BEGIN mark is in the window */
        s->st[IOSIM_ST_REC_MARK] = 1;
        if (s->window_observer)
            s->window_observer(s->window_observer_arg, true);
        s->t_first = r->t;
        s->window_closed = false;
        dma_pipe_restart(s->pipe);
        if (s->epochs.len_ns)
            sim_epoch_after_restart(s);
    } else if (r->flags == IOSIM_MARK_END && !s->window_closed) {
        memcpy(s->frozen, s->st, sizeof s->st); /* END already counted */
        memcpy(s->lat_frozen, s->lat_ns_hist, sizeof s->lat_ns_hist);
        s->load_frozen = s->load;
        s->frozen[IOSIM_ST_TRACE_NS] = sim_span(s, r->t);
        s->window_closed = true;
        if (s->window_observer)
            s->window_observer(s->window_observer_arg, false);
    } else {
        return;
    }
    /* a shared front's back ends restart or freeze their own counts */
    front_ev_t *e = s->nbacks ? front_log(s, EV_WINDOW) : NULL;
    if (e)
        e->flag = r->flags == IOSIM_MARK_BEGIN;
}

/* The model maps, unmaps and touches a record's range 4 KB page by page
 * (the trace's view, the policies, the access model), so its time and
 * memory grow with the size a record claims: a corrupt size of 2^64
 * would run for days.  64 GiB per record is far above any DMA buffer in
 * the captures (the largest are 2 MiB huge pages, gen pvp 1 GiB) and
 * costs seconds. */
#define SIM_REC_SIZE_MAX (1ull << 36)

uint64_t iosim_sim_warning(const iosim_sim_t *s, size_t i)
{
    return i < SIM_WARN_COUNT ? s->warn[i] : 0;
}
void iosim_sim_set_strict_input(iosim_sim_t *s, bool strict)
{
    s->strict_input = strict;
}

/* Counts a warning of record r; -1 with err set under strict input. */
static int sim_warn(iosim_sim_t *s, enum sim_input_warning w,
                    const iosim_rec_t *r, iosim_err_t *err)
{
    s->warn[w]++;
    if (!s->strict_input)
        return 0;
    return iosim_err_set(err,
                         "--strict-input: %s iova 0x%llx size 0x%llx: "
                         "%s (%s)",
                         iosim_rec_kind_name(r->kind),
                         (unsigned long long)r->iova,
                         (unsigned long long)r->size, iosim_warning_name(w),
                         iosim_warning_desc(w));
}

/* The warnings a record raises before the model takes it.  A DMA
 * record's walk of the trace's view goes to *first: the replay of the
 * record uses it instead of walking again. */
static int sim_check_input(iosim_sim_t *s, const iosim_rec_t *r,
                           sim_live_walk_t *first, iosim_err_t *err)
{
    if (s->seen_any && r->t < s->now &&
        sim_warn(s, SIM_WARN_TIME_BACKWARDS, r, err))
        return -1;
    bool ranged = r->kind == IOSIM_REC_MAP || r->kind == IOSIM_REC_UNMAP ||
                  r->kind == IOSIM_REC_DMA;
    if (ranged && r->size && r->iova + r->size < r->iova &&
        sim_warn(s, SIM_WARN_WRAPPED, r, err))
        return -1;
    if (r->kind == IOSIM_REC_UNMAP && !pgtable_is_mapped(&s->live, r->iova) &&
        sim_warn(s, SIM_WARN_STRAY_UNMAP, r, err))
        return -1;
    if (r->kind == IOSIM_REC_DMA) {
        /* the full walk only where sim_dma needs the address */
        first->mapped = !s->os->translates && s->live_ready
                            ? pgtable_walk(&s->live, r->iova, &first->w)
                            : pgtable_is_mapped(&s->live, r->iova);
        if (!first->mapped && sim_warn(s, SIM_WARN_DMA_UNMAPPED, r, err))
            return -1;
    }
    return 0;
}

static int sim_record(iosim_sim_t *s, const iosim_rec_t *r, iosim_err_t *err)
{
    if ((r->kind == IOSIM_REC_MAP || r->kind == IOSIM_REC_UNMAP ||
         r->kind == IOSIM_REC_DMA) &&
        r->size > SIM_REC_SIZE_MAX)
        return iosim_err_set(err,
                             "size 0x%llx is larger than the 64 GiB a "
                             "record may cover",
                             (unsigned long long)r->size);
    sim_live_walk_t first;
    if (sim_check_input(s, r, &first, err))
        return -1;
    if (s->epochs.len_ns && sim_epoch_advance(s, r->t, err))
        return -1;
    if (!s->seen_any) {
        s->seen_any = true;
        s->t_first = r->t;
    }
    s->now = r->t;
    if (r->kind != IOSIM_REC_DMA) /* a device access names no CPU */
        s->cur_cpu = r->cpu;
    if (s->os->tick)
        s->os->tick(s->os_state, r->t);
    s->st[IOSIM_ST_REC_TOTAL]++;
    switch (r->kind) {
    case IOSIM_REC_MAP:
        s->st[IOSIM_ST_REC_MAP]++;
        if ((r->flags & (IOSIM_PROT_READ | IOSIM_PROT_WRITE)) ==
            IOSIM_PROT_READ)
            s->st[IOSIM_ST_REC_MAP_RO]++;
        s->st[IOSIM_ST_OS_MAPS]++;
        sim_attach(s, r->device, r->domain);
        if (s->dev)
            sim_premap_drop(s, r);
        /* the trace's own view; a remap over a live buffer (a lossy
         * trace) keeps the old entry */
        if (pgtable_map(&s->live, r->iova, r->aux, r->size, true, true) ==
            PGTABLE_ENOMEM)
            return iosim_err_set(err, "out of memory");
        if (s->dump && sim_dump_map(s, r, err))
            return -1;
        if (s->os->map(s->os_state, r, err))
            return -1;
        return s->dev ? s->dev->map(s->dev_state, r, err) : 0;
    case IOSIM_REC_UNMAP:
        s->st[IOSIM_ST_REC_UNMAP]++;
        s->st[IOSIM_ST_OS_UNMAPS]++;
        if (s->dev && s->dev->unmap(s->dev_state, r, err))
            return -1;
        if (s->dev)
            sim_premap_drop(s, r);
        if (pgtable_unmap(&s->live, r->iova, r->size, NULL) == PGTABLE_ENOMEM)
            return iosim_err_set(err, "out of memory");
        if (s->dump)
            sim_dump_unmap(s, r);
        return s->os->unmap(s->os_state, r, err);
    case IOSIM_REC_DMA: {
        /* the stream cannot be looked ahead: auto trusts has_dma, and a
         * DMA record after all would be counted twice (its own access
         * and the one synthesized at the unmap) */
        if (s->synth_by_meta)
            return iosim_err_set(err, "a DMA record in a trace whose "
                                      "metadata says has_dma=0 (dev.model "
                                      "auto runs a device model then): set "
                                      "has_dma=1 in the trace, or dev.model "
                                      "none or a model name");
        s->st[IOSIM_ST_REC_DMA]++;
        uint64_t iova = r->iova;
        if (s->os->dma_iova)
            iova = s->os->dma_iova(s->os_state, r);
        if (s->os->dma)
            s->os->dma(s->os_state, r, iova, r->size,
                       (r->flags & IOSIM_DMA_WRITE) != 0);
        sim_dma(s, r->device, r->pasid, r->domain, iova, r->iova, r->size,
                (r->flags & IOSIM_DMA_WRITE) != 0, &first);
        return 0;
    }
    case IOSIM_REC_INVAL:
        s->st[IOSIM_ST_REC_INVAL]++;
        if (r->desc == IOSIM_DESC_IOTLB || r->desc == IOSIM_DESC_PIOTLB)
            s->st[IOSIM_ST_REC_INVAL_IOTLB]++;
        if (r->desc == IOSIM_DESC_PIOTLB)
            s->st[IOSIM_ST_REC_INVAL_PIOTLB]++;
        else if (r->desc == IOSIM_DESC_DEVTLB || r->desc == IOSIM_DESC_PDEVTLB)
            s->st[IOSIM_ST_REC_INVAL_DEVTLB]++;
        if (s->os->inval && s->os->inval(s->os_state, r, err))
            return -1;
        return s->dev && s->dev->inval ? s->dev->inval(s->dev_state, r, err)
                                       : 0;
    case IOSIM_REC_MARK:
        s->st[IOSIM_ST_REC_MARK]++;
        if (r->flags == IOSIM_MARK_REQUEST) {
            s->st[IOSIM_ST_REQUESTS]++;
            s->load.requests[r->cpu]++;
        }
        window_mark(s, r);
        return s->dev && s->dev->mark ? s->dev->mark(s->dev_state, r, err) : 0;
    default:
        return iosim_err_set(err, "record of unknown kind %u", r->kind);
    }
}

/* ---- same-timestamp reordering (reorder.h) --------------------------- */

/* A MAP of a live IOVA (not one pre-mapped for the device model) or an
 * UNMAP of a dead one waits for a record of its timestamp. */
static bool rec_ready(void *arg, const iosim_rec_t *r)
{
    iosim_sim_t *s = arg;
    if (r->kind == IOSIM_REC_MAP)
        return !pgtable_is_mapped(&s->live, r->iova) ||
               pgtable_is_mapped(&s->premap, r->iova);
    if (r->kind == IOSIM_REC_UNMAP)
        return pgtable_is_mapped(&s->live, r->iova);
    return true;
}

/* r is record number `no` of the trace (from 0 as FORMAT.md §4 and the
 * reader's messages count, in trace order, also when it was held back
 * and runs after later ones). */
static int sim_record_numbered(void *arg, const iosim_rec_t *r, uint64_t no,
                               iosim_err_t *err)
{
    iosim_sim_t *s = arg;
    s->record_no = no;
    if (sim_record(s, r, err) == 0)
        return 0;
    s->record_failed = true;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return iosim_err_set(err, "record %llu (t=%llu): %s",
                         (unsigned long long)no, (unsigned long long)r->t, msg);
}

/* One record of the trace, number no, in trace order. */
static int sim_take(iosim_sim_t *s, const iosim_rec_t *r, uint64_t no,
                    iosim_err_t *err)
{
    return reorder_take(&s->pending, r, no, rec_ready, sim_record_numbered, s,
                        err);
}

/* ---- device-model lookahead (dev.h dev_lookahead) ---------------------
 * Each record waits until ahead_cap records have come after it, or the
 * trace ends, so the model sees the same future whatever the batches
 * iosim_sim_consume is given. */

int dev_lookahead(iosim_sim_t *s, size_t w, iosim_err_t *err)
{
    w++; /* the record being served and the w after it */
    if (w <= s->ahead_cap)
        return 0;
    iosim_rec_t *a = calloc(w, sizeof *a);
    uint64_t *no = calloc(w, sizeof *no);
    if (!a || !no) {
        free(a);
        free(no);
        return iosim_err_set(err, "out of memory");
    }
    for (size_t k = 0; k < s->ahead_len; k++) {
        a[k] = s->ahead[(s->ahead_head + k) % s->ahead_cap];
        no[k] = s->ahead_no[(s->ahead_head + k) % s->ahead_cap];
    }
    free(s->ahead);
    free(s->ahead_no);
    s->ahead = a;
    s->ahead_no = no;
    s->ahead_cap = w;
    s->ahead_head = 0;
    return 0;
}

const iosim_rec_t *dev_peek(const iosim_sim_t *s, size_t i)
{
    if (i >= s->ahead_len)
        return NULL;
    return &s->ahead[(s->ahead_head + i) % s->ahead_cap];
}

/* the oldest held record goes to the model */
static int sim_ahead_pop(iosim_sim_t *s, iosim_err_t *err)
{
    iosim_rec_t r = s->ahead[s->ahead_head];
    uint64_t no = s->ahead_no[s->ahead_head];
    s->ahead_head = (s->ahead_head + 1) % s->ahead_cap;
    s->ahead_len--;
    return sim_take(s, &r, no, err);
}

/* ---- the DMA fast path ------------------------------------------------
 * Most records of a DMA stream are one device access within one page, on
 * a system whose composition adds nothing to it beyond the translation
 * and the device pipeline.  Runs of such records take sim_fast_run: the
 * same steps as sim_take -> sim_record -> sim_dma -> hv_direct_translate
 * in the same order, with every check that cannot apply to them skipped —
 * so the same counters, model state and times.  Any other record, and any
 * record that would raise an input warning, takes the plain path. */

/* Whether the system's composition lets DMA records take the fast path:
 * no record held back (device lookahead), no device model, no walks in
 * flight, no translation log, access dump or epochs, an OS policy that
 * translates, and a hypervisor mode that passes translations straight to
 * the VT-d model. */
static bool sim_fast_ok(const iosim_sim_t *s)
{
    return s->fast_path && !s->ahead_cap && !s->dev && !s->synth_by_meta &&
           !s->inflight && !s->xlate_log && !s->dump && !s->epochs.len_ns &&
           s->os->translates && s->hv->translate == hv_direct_translate;
}

/* The OS policy's hooks of a batch, read once (the calls between records
 * could change what the compiler would otherwise reload). */
typedef struct sim_fast_os {
    void (*tick)(void *state, uint64_t now);
    void (*dma)(void *state, const iosim_rec_t *r, uint64_t iova, uint64_t size,
                bool write);
    void *state;
    bool trace_iova; /* dma_iova is the trace's IOVA (dma_iova_is_trace) */
    bool plain;      /* vtd_plain_brief_ok, asked once a batch */
    bool front;      /* a shared front: the back ends translate */
    bool sh;         /* not plain, but vtd_quick_sh_ok (a sweep's leader) */
} sim_fast_os_t;

/* lat_bucket of a latency whose histogram slot is slot (the latency, at
 * most SIM_LAT_SLOTS - 1): floor(log2(slot | 1) / 2) is 0 below 4, and
 * at most 6 without a cap since the last slot is below 2^14; latencies
 * above it are at least 4096, bucket 6, as that slot's. */
_Static_assert(SIM_LAT_SLOTS - 1 >= 4096 && SIM_LAT_SLOTS - 1 < (1u << 14),
               "the last latency slot must fall in the last bucket");
#define LAT_X4(b) b, b, b, b
#define LAT_X16(b) LAT_X4(b), LAT_X4(b), LAT_X4(b), LAT_X4(b)
#define LAT_X64(b) LAT_X16(b), LAT_X16(b), LAT_X16(b), LAT_X16(b)
#define LAT_X256(b) LAT_X64(b), LAT_X64(b), LAT_X64(b), LAT_X64(b)
#define LAT_X1024(b) LAT_X256(b), LAT_X256(b), LAT_X256(b), LAT_X256(b)
#define LAT_X4096(b) LAT_X1024(b), LAT_X1024(b), LAT_X1024(b), LAT_X1024(b)
/* that bucket of every slot (a load where the arithmetic took four
 * instructions): bucket k holds [4^k, 4^(k+1)) but for 0 (below 4) and 6
 * (4096 on) */
static const uint8_t lat_bucket_tab[SIM_LAT_SLOTS] = {
    LAT_X4(0),                                /* 0 .. 3 */
    LAT_X4(1),    LAT_X4(1),    LAT_X4(1),    /* 4 .. 15 */
    LAT_X16(2),   LAT_X16(2),   LAT_X16(2),   /* 16 .. 63 */
    LAT_X64(3),   LAT_X64(3),   LAT_X64(3),   /* 64 .. 255 */
    LAT_X256(4),  LAT_X256(4),  LAT_X256(4),  /* 256 .. 1023 */
    LAT_X1024(5), LAT_X1024(5), LAT_X1024(5), /* 1024 .. 4095 */
    LAT_X4096(6),                             /* 4096 .. 8191 */
};
_Static_assert(SIM_LAT_SLOTS == 8192, "lat_bucket_tab's size");
static inline unsigned lat_bucket_of_slot(uint64_t slot)
{
    return lat_bucket_tab[slot];
}

/* The level-1 table the trace's view last gave a run of fast records,
 * and its 2 MB region: nothing changes the view within a run (only the
 * plain path's MAP and UNMAP records do), so the table stands for the
 * view's walk of every IOVA of its region. */
typedef struct sim_live_memo {
    uint64_t region; /* iova >> PT_MEMO_REGION_SHIFT; UINT64_MAX: none */
    const pt_node_t *table;
} sim_live_memo_t;

/* pgtable_is_mapped(&s->live, iova) within a run */
static inline __attribute__((always_inline)) bool
sim_live_mapped(const iosim_sim_t *s, sim_live_memo_t *lm, uint64_t iova)
{
    if (iova >> PT_MEMO_REGION_SHIFT != lm->region) {
        const pt_memo_ent_t *m = pgtable_memo_ent(&s->live, iova);
        if (!m)
            return pgtable_is_mapped(&s->live, iova);
        lm->region = iova >> PT_MEMO_REGION_SHIFT;
        lm->table = m->table;
    }
    return (lm->table->ent[(iova >> PT_PAGE_SHIFT) & 511u] & PT_ENT_PRESENT) !=
           0;
}

/* vtd_quick_key(r->device, r->pasid, r->domain): on a little-endian
 * machine the record's 8 bytes from its PASID on, one load. */
static inline uint64_t sim_rec_quick_key(const iosim_rec_t *r)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    _Static_assert(
        offsetof(iosim_rec_t, device) == offsetof(iosim_rec_t, pasid) + 4 &&
            offsetof(iosim_rec_t, domain) == offsetof(iosim_rec_t, pasid) + 6 &&
            sizeof r->pasid == 4 && sizeof r->device == 2 &&
            sizeof r->domain == 2,
        "PASID, device and domain: 8 bytes in that order");
    uint64_t k;
    memcpy(&k, &r->pasid, sizeof k);
    return k;
#else
    return vtd_quick_key(r->device, r->pasid, r->domain);
#endif
}

/* The quick path's own answers (vtd_xlate_brief_t.quick) have one of two
 * latencies, v->quick_hit_ns (no read) and v->quick_walk_ns (one read),
 * fixed once v is made, and its run counts them (vtd_quick_run_t's hits
 * and walks).  So a run of fast records rounds them once, not per
 * request: their ns (dma_pipe_one's l) and, for the run's last size,
 * with its l0 share (dma_pipe_one's xlate ticks); and their latency sum,
 * histogram slot and bucket are added from those counts
 * (sim_quick_count), not per request.  [walked] indexes each. */
typedef struct sim_quick_lat {
    double ns[2];
    uint64_t l[2];  /* dma_pipe_round_small(ns[k]) */
    uint64_t xt[2]; /* dma_pipe_round_small(base_memo(size) + ns[k]) */
    uint64_t size;  /* xt's size; 0: none (requests have size > 0) */
} sim_quick_lat_t;

static void sim_quick_lat_init(const vtd_t *v, sim_quick_lat_t *q)
{
    q->ns[0] = v->quick_hit_ns;
    q->ns[1] = v->quick_walk_ns;
    for (unsigned k = 0; k < 2; k++)
        q->l[k] = dma_pipe_round_small(q->ns[k]);
    q->size = 0;
}

/* q's xlate ticks for requests of size bytes (the pipeline's size memo
 * is that size's after this, as dma_pipe_one leaves it) */
static void sim_quick_lat_size(dma_pipe_t *p, sim_quick_lat_t *q, uint64_t size)
{
    dma_pipe_size_terms(p, size);
    for (unsigned k = 0; k < 2; k++)
        q->xt[k] = dma_pipe_round_small(p->base_memo + q->ns[k]);
    q->size = size;
}

/* vtd_quick_count, and the latency sum, histogram and buckets of the
 * quick answers it counts (what the run's requests did not add) */
static inline void sim_quick_count(iosim_sim_t *s, vtd_quick_run_t *c,
                                   const sim_quick_lat_t *q)
{
    const uint64_t n[2] = {c->hits, c->walks};
    for (unsigned k = 0; k < 2; k++) {
        if (!n[k])
            continue;
        uint64_t slot = q->l[k] < SIM_LAT_SLOTS ? q->l[k] : SIM_LAT_SLOTS - 1;
        s->st[IOSIM_ST_DMA_LAT_NS] += n[k] * q->l[k];
        s->lat_ns_hist[slot] += n[k];
        s->st[IOSIM_ST_LAT_LT4 + lat_bucket_of_slot(slot)] += n[k];
    }
    vtd_quick_count(s->vtd, c);
}

/* sim_dma_fast's request of one page (size <= 4096) in a shared front:
 * logged for the back ends (front_flush), in the EV_ONE run the log ends
 * with, or a new one. */
static void sim_front_one(iosim_sim_t *s, const iosim_rec_t *r, uint64_t iova,
                          uint64_t size, bool write)
{
    front_log_t *L = &s->log[s->cur];
    if (vec_reserve(&L->one, &L->one_cap, L->none + 1, 4096)) {
        s->front_oom = true;
        return;
    }
    if (!L->nev || L->ev[L->nev - 1].kind != EV_ONE) {
        front_ev_t *e = front_log(s, EV_ONE);
        if (!e)
            return;
        e->a = L->none;
    }
    L->ev[L->nev - 1].b++;
    /* the key made once here, not by each back end */
    L->one[L->none++] =
        (front_one_t){sim_rec_quick_key(r), iova, (uint32_t)size, write};
}

/* sim_fast_run's steps of the records from r on (before end) that need
 * no call, on the plain composition without hooks: a DMA record within a
 * page in the run's 2 MB region of the trace's view (lm's table), of the
 * size q's terms were made for (the pipeline's size memo: sim_fast_run
 * made them for the last request it timed), of the quick path's memo's
 * key where the memo holds a domain of 4 KB leaves only, that the quick
 * path answers without a call (vtd_quick_tail's bail).  Returns the first
 * record it left to sim_fast_run's own steps (end, one that is not such
 * a record, or one the quick path left, nothing of it done); *now, the
 * quick path's run and the counters move as sim_fast_run's steps would
 * move them, the sums of its requests' constant terms (bytes,
 * dma.wire_ns, dma.xlate_ns of each answer's kind) added at the end.
 * With no call in its loop, and what does not change in it (the memo,
 * the region, the size) read once, GCC keeps more of the loop's values in
 * registers (in sim_fast_run's loop, whose rare paths call, it kept many
 * in the stack frame).  tw: vtd_quick_ways, 8 as a constant in the
 * usual copy. */
static inline __attribute__((always_inline)) const iosim_rec_t *
sim_fast_tight(iosim_sim_t *s, const iosim_rec_t *r, const iosim_rec_t *end,
               const uint32_t tw, uint64_t *now_io, const sim_live_memo_t *lm,
               vtd_quick_run_t *qc_io, const sim_quick_lat_t *q)
{
    vtd_quick_run_t qc = *qc_io;
    dma_pipe_t *p = s->pipe;
    /* the memo's domain is not one of 4 KB leaves only (vtd_quick_body
     * would not take vtd_quick_tail's small copy); or no request of the
     * size memo's size was timed with q */
    if (!qc.d || !qc.small || !q->size || q->size != p->size_memo)
        return r;
    vtd_t *v = s->vtd;
    const iosim_rec_t *const first = r;
    uint64_t now = *now_io, faults = 0;
    const uint64_t region = lm->region, size = q->size, key = qc.key,
                   hits = qc.hits, walks = qc.walks;
    const pt_node_t *table = lm->table;
    for (; r != end; r++) {
        uint64_t iova = r->iova;
        /* sim_fast_run's checks, and sim_live_mapped's in the region (a
         * record of size 0, a request of 1 byte, is left to it) */
        if (r->kind != IOSIM_REC_DMA || r->t < now || r->size != size ||
            (iova & 0xfffull) + size > 4096 ||
            iova >> PT_MEMO_REGION_SHIFT != region ||
            !(table->ent[(iova >> PT_PAGE_SHIFT) & 511u] & PT_ENT_PRESENT) ||
            sim_rec_quick_key(r) != key)
            break;
        bool bail = false;
        vtd_xlate_brief_t x = vtd_quick_tail(v, qc.d, qc.tag0, qc.th1, iova, tw,
                                             true, &qc, false, &bail);
        if (bail)
            break;
        now = r->t;
        dma_pipe_one_memo(p, q->l[x.mem_reads != 0], x.mem_reads != 0);
        faults += x.fault;
    }
    const uint64_t k = (uint64_t)(r - first);
    *now_io = now;
    s->st[IOSIM_ST_DMA_BYTES] += k * size;
    s->st[IOSIM_ST_DMA_FAULTS] += faults;
    p->st[IOSIM_ST_DMA_WIRE_NS] += k * p->wire_ticks;
    p->st[IOSIM_ST_DMA_XLATE_NS] +=
        (qc.hits - hits) * q->xt[0] + (qc.walks - walks) * q->xt[1];
    *qc_io = qc;
    return r;
}

/* sim_fast_tight's two copies, functions of their own (see there) */
static __attribute__((noinline)) const iosim_rec_t *
sim_fast_tight8(iosim_sim_t *s, const iosim_rec_t *r, const iosim_rec_t *end,
                uint64_t *now, const sim_live_memo_t *lm, vtd_quick_run_t *qc,
                const sim_quick_lat_t *q)
{
    return sim_fast_tight(s, r, end, 8, now, lm, qc, q);
}
static __attribute__((noinline)) const iosim_rec_t *
sim_fast_tightn(iosim_sim_t *s, const iosim_rec_t *r, const iosim_rec_t *end,
                uint32_t tw, uint64_t *now, const sim_live_memo_t *lm,
                vtd_quick_run_t *qc, const sim_quick_lat_t *q)
{
    return sim_fast_tight(s, r, end, tw, now, lm, qc, q);
}

/* A run of DMA records that take the fast path, from recs[i] on (before
 * n): the same steps as sim_take -> sim_record -> sim_dma ->
 * hv_direct_translate for each, the counters every record adds one to
 * summed at the run's end (nothing reads them before: the plain path
 * runs only after the run).  Returns where the run stopped: n, or the
 * first record that must take the plain path (nothing of it done).
 * Called only with no record held back (s->pending) and a record seen
 * (s->seen_any): neither changes within a run. */
static inline __attribute__((always_inline)) size_t
sim_fast_run(iosim_sim_t *s, const iosim_rec_t *recs, size_t i, size_t n,
             const sim_fast_os_t *os)
{
    /* an OS hook may read the time or the record's number (sim_now) */
    const bool hooks = os->tick || os->dma || !os->trace_iova;
    const size_t first = i;
    size_t other = 0; /* records whose IOVA (not the trace's) spans pages */
    uint64_t now = s->now;
    sim_live_memo_t lm = {UINT64_MAX, NULL};
    /* the quick path's counters, added at the run's end and before any
     * call that might read them (the hooks, sim_dma), and its memo,
     * forgotten after any call that might change the model */
    vtd_quick_run_t qc = VTD_QUICK_RUN_INIT;
    sim_quick_lat_t ql;
    sim_quick_lat_init(s->vtd, &ql);
    const uint32_t tw = os->plain ? vtd_quick_ways(s->vtd) : 0;
    /* one induction variable: the record (its number is r - recs) */
    const iosim_rec_t *r = recs + i, *const end = recs + n;
    for (; r != end; r++) {
        if (os->plain && !hooks && !os->front) {
            /* the usual records without a call; this loop's steps do the
             * first it leaves */
            r = tw == 8 ? sim_fast_tight8(s, r, end, &now, &lm, &qc, &ql)
                        : sim_fast_tightn(s, r, end, tw, &now, &lm, &qc, &ql);
            if (r == end)
                break;
        }
        uint64_t size = r->size ? r->size : 1, riova = r->iova;
        /* the plain path's input checks: no warning may come of it (a
         * record within a page that wraps around the 64-bit space is on
         * its top page, beyond the trace view's 57 bits: not mapped) */
        if (r->kind != IOSIM_REC_DMA || r->t < now ||
            (riova & 0xfffull) + size > 4096 || !sim_live_mapped(s, &lm, riova))
            break;
        now = r->t;
        if (hooks) {
            s->now = now;
            s->record_no = s->records_in + ((size_t)(r - recs) - first);
            sim_quick_count(s, &qc, &ql);
            vtd_quick_forget(&qc);
        }
        if (os->tick)
            os->tick(os->state, now);
        bool write = (r->flags & IOSIM_DMA_WRITE) != 0;
        uint64_t iova = os->trace_iova ? riova : s->os->dma_iova(os->state, r);
        if (os->dma)
            os->dma(os->state, r, iova, r->size, write);
        /* the trace's IOVA passed the same check above */
        if (!os->trace_iova &&
            ((iova & 0xfffull) + size > 4096 || iova + size < iova)) {
            sim_live_walk_t walk = {.mapped = true};
            /* (not the trace's IOVA: hooks, so the next record forgets
             * the quick path's memo) */
            sim_quick_count(s, &qc, &ql);
            sim_dma(s, r->device, r->pasid, r->domain, iova, r->iova, r->size,
                    write, &walk);
            other++;
            continue;
        }
        s->st[IOSIM_ST_DMA_BYTES] += size;
        if (os->front) { /* a shared front: the back ends translate */
            sim_front_one(s, r, iova, size, write);
            continue;
        }
        vtd_xlate_brief_t x =
            os->plain ? vtd_translate_quick(s->vtd, sim_rec_quick_key(r), iova,
                                            tw, &qc)
            : os->sh  ? vtd_translate_quick_sh(s->vtd, sim_rec_quick_key(r),
                                               iova, &qc)
                      : vtd_translate_brief(s->vtd, r->device, r->pasid,
                                            r->domain, iova, write);
        const bool walked = x.mem_reads != 0;
        if (x.quick) { /* its latency's terms are ql's */
            if (size != ql.size)
                sim_quick_lat_size(s->pipe, &ql, size);
            dma_pipe_one_ticks(s->pipe, size, ql.l[walked], ql.xt[walked],
                               walked);
        } else {
            uint64_t lat_ns = dma_pipe_one(s->pipe, size, x.latency_ns, walked);
            s->st[IOSIM_ST_DMA_LAT_NS] += lat_ns;
            uint64_t slot = lat_ns < SIM_LAT_SLOTS ? lat_ns : SIM_LAT_SLOTS - 1;
            s->lat_ns_hist[slot]++;
            s->st[IOSIM_ST_LAT_LT4 + lat_bucket_of_slot(slot)]++;
        }
        /* the page is live in the trace's view: a hit is never stale */
        if (x.fault)
            s->st[IOSIM_ST_DMA_FAULTS]++;
    }
    sim_quick_count(s, &qc, &ql);
    i = (size_t)(r - recs);
    uint64_t k = i - first;
    if (k) {
        s->now = now;
        s->record_no = s->records_in + k - 1;
        s->records_in += k;
        s->fast_records += k;
        s->st[IOSIM_ST_REC_TOTAL] += k;
        s->st[IOSIM_ST_REC_DMA] += k;
        s->st[IOSIM_ST_DMA_REQS] += k - other;
        s->st[IOSIM_ST_DMA_PAGES_4K] += k - other;
        /* once dma_pipe_one timed a request (sim_dma's requests settle
         * their own) */
        if (k > other)
            dma_pipe_settle(s->pipe);
    }
    return i;
}

void sim_set_fast_path(iosim_sim_t *s, bool on) { s->fast_path = on; }
unsigned sim_lat_bucket_plain(uint64_t lat_ns) { return lat_bucket(lat_ns); }
unsigned sim_lat_bucket_fast(uint64_t lat_ns)
{
    return lat_bucket_of_slot(lat_ns < SIM_LAT_SLOTS ? lat_ns
                                                     : SIM_LAT_SLOTS - 1);
}
uint64_t sim_fast_records(const iosim_sim_t *s) { return s->fast_records; }

/* front_replay_ones' requests from o on (before end) that need no call,
 * on the plain translation: sim_fast_tight's loop for a back end.  A
 * request of the key of the quick path's memo (qc), whose domain holds
 * 4 KB leaves only, of the size memo's size (q's terms made for it: a
 * request of that size was timed last), that the quick path answers
 * without a call (vtd_quick_tail's bail).  Returns the first request it
 * left (end, or one of another key or size, or one the quick path left,
 * nothing of it done); the pipeline's clocks, the quick path's run and
 * *faults move as front_replay_ones' steps would move them, and the sums
 * of its requests' constant terms (dma.wire_ns, dma.xlate_ns and the
 * latency sum and histogram slot of each answer's kind) are added at the
 * end.  No call in its loop: its values stay in registers. */
static inline __attribute__((always_inline)) const front_one_t *
front_replay_tight(iosim_sim_t *b, const front_one_t *o,
                   const front_one_t *const end, const uint32_t tw,
                   vtd_quick_run_t *qc_io, sim_quick_lat_t *q,
                   uint64_t *faults_io, uint64_t *lat_sum_io)
{
    vtd_quick_run_t qc = *qc_io;
    dma_pipe_t *p = b->pipe;
    if (!qc.d || !qc.small || o->key != qc.key || o->size != p->size_memo)
        return o;
    if (q->size != p->size_memo)
        sim_quick_lat_size(p, q, p->size_memo);
    vtd_t *v = b->vtd;
    const front_one_t *const first = o;
    uint64_t faults = *faults_io;
    const uint64_t size = q->size, key = qc.key, hits = qc.hits,
                   walks = qc.walks;
    for (; o != end; o++) {
        if (o->key != key || o->size != size)
            break;
        bool bail = false;
        vtd_xlate_brief_t x = vtd_quick_tail(v, qc.d, qc.tag0, qc.th1, o->iova,
                                             tw, true, &qc, false, &bail);
        if (bail)
            break;
        dma_pipe_one_memo(p, q->l[x.mem_reads != 0], x.mem_reads != 0);
        faults += x.fault;
    }
    const uint64_t k = (uint64_t)(o - first);
    const uint64_t n[2] = {qc.hits - hits, qc.walks - walks};
    p->st[IOSIM_ST_DMA_WIRE_NS] += k * p->wire_ticks;
    p->st[IOSIM_ST_DMA_XLATE_NS] += n[0] * q->xt[0] + n[1] * q->xt[1];
    for (unsigned j = 0; j < 2; j++) {
        *lat_sum_io += n[j] * q->l[j];
        b->lat_ns_hist[q->l[j] < SIM_LAT_SLOTS ? q->l[j] : SIM_LAT_SLOTS - 1] +=
            n[j];
    }
    *faults_io = faults;
    *qc_io = qc;
    return o;
}

/* Back end b does the n one-page requests of an EV_ONE run from o on
 * (translates: vtd_plain_brief_ok(b->vtd)), as sim_fast_run does a run of
 * records: the quick path's counts, the faults and the latency sum added
 * at the run's end, then the two counters dma_pipe_settle sets (nothing
 * reads the counters within the run; window and quiet entries, which
 * copy them, end it).  (tw: vtd_quick_ways(b->vtd) where plain; a
 * constant in front_replay_plain's copy for 8 ways, so that no request
 * tests it.) */
static inline __attribute__((always_inline)) void
front_replay_ones(iosim_sim_t *b, const front_one_t *o, size_t n, bool plain,
                  bool sh, const uint32_t tw)
{
    vtd_t *v = b->vtd;
    dma_pipe_t *pipe = b->pipe;
    uint64_t *st = b->st, *hist = b->lat_ns_hist;
    vtd_quick_run_t qc = VTD_QUICK_RUN_INIT; /* nothing else runs between */
    uint64_t faults = 0, lat_sum = 0;
    sim_quick_lat_t ql;
    if (plain)
        sim_quick_lat_init(v, &ql);
    for (const front_one_t *const end = o + n; o != end; o++) {
        if (plain) {
            /* the usual requests without a call; this loop's steps do
             * the first it leaves */
            o = front_replay_tight(b, o, end, tw, &qc, &ql, &faults, &lat_sum);
            if (o == end)
                break;
        }
        vtd_xlate_brief_t x =
            plain ? vtd_quick_body(v, o->key, o->iova, tw, &qc, false)
            : sh  ? vtd_translate_quick_sh(v, o->key, o->iova, &qc)
                  : vtd_translate_brief(v, vtd_quick_key_sid(o->key),
                                        vtd_quick_key_pasid(o->key),
                                        vtd_quick_key_did(o->key), o->iova,
                                        o->write);
        uint64_t lat_ns =
            dma_pipe_one(pipe, o->size, x.latency_ns, x.mem_reads != 0);
        faults += x.fault;
        lat_sum += lat_ns;
        /* (its latency bucket comes of the histogram: sim_front_settle) */
        hist[lat_ns < SIM_LAT_SLOTS ? lat_ns : SIM_LAT_SLOTS - 1]++;
    }
    vtd_quick_count(v, &qc);
    st[IOSIM_ST_DMA_FAULTS] += faults;
    st[IOSIM_ST_DMA_LAT_NS] += lat_sum;
    dma_pipe_settle(pipe);
}

/* front_replay_ones of the plain translation, a function of its own:
 * its loop's registers are not shared with the rest of front_replay (in
 * there, the 8-way copy made GCC leave the IOTLB set's scan a call) */
static __attribute__((noinline)) void
front_replay_plain(iosim_sim_t *b, const front_one_t *o, size_t n, uint32_t tw)
{
    if (tw == 8)
        front_replay_ones(b, o, n, true, false, 8);
    else
        front_replay_ones(b, o, n, true, false, tw);
}

/* Back end b of front s does log L (see front_flush). */
static void front_replay(const iosim_sim_t *s, const front_log_t *L,
                         iosim_sim_t *b)
{
    bool plain = vtd_plain_brief_ok(b->vtd), translates = s->os->translates,
         sh = !plain && vtd_quick_sh_ok(b->vtd);
    const uint32_t tw = plain ? vtd_quick_ways(b->vtd) : 0;
    iosim_err_t ignored;
    uint64_t quiet[IOSIM_ST_COUNT]; /* the counts at EV_QUIET's begin */
    for (size_t i = 0; i < L->nev; i++) {
        const front_ev_t *e = &L->ev[i];
        switch (e->kind) {
        case EV_MAP:
        case EV_UNMAP:
            if ((e->kind == EV_MAP ? vtd_map(b->vtd, e->did, e->a, e->c, e->b,
                                             e->flag, &ignored)
                                   : vtd_unmap(b->vtd, e->did, e->a, e->b,
                                               &ignored)) != e->want.n)
                b->front_diverged = true;
            break;
        case EV_SUBMIT:
            if (vtd_submit(b->vtd, L->desc + e->a, e->b) != e->want.ns)
                b->front_diverged = true;
            break;
        case EV_ATTACH:
            vtd_attach(b->vtd, e->sid, e->did);
            break;
        case EV_ONE: /* a run of them: sim_fast_run's steps (a copy for
                      * each translation, a constant: the plain one keeps
                      * the quick path's run out of the frame, where the
                      * out-of-line calls of the others take its
                      * address) */
            if (plain)
                front_replay_plain(b, L->one + e->a, e->b, tw);
            else if (sh)
                front_replay_ones(b, L->one + e->a, e->b, false, true, 0);
            else
                front_replay_ones(b, L->one + e->a, e->b, false, false, 0);
            break;
        case EV_REQ: { /* sim_dma's steps (hv_direct_translate) */
            dma_req_t q;
            double lat = 0;
            dma_pipe_begin(b->pipe, e->b, &q);
            for (uint64_t p = 0; p < e->c; p++) {
                const front_ev_t *g = &L->ev[++i];
                vtd_xlate_result_t r =
                    translates ? vtd_translate(b->vtd, e->sid, e->pasid, e->did,
                                               g->a, e->flag)
                               : (vtd_xlate_result_t){.phys = g->a};
                lat += r.latency_ns;
                dma_pipe_page(b->pipe, &q, r.latency_ns, r.mem_reads != 0);
                if (r.fault)
                    b->st[IOSIM_ST_DMA_FAULTS]++;
                else if ((r.iotlb_hit || r.devtlb_hit) && translates &&
                         !g->flag)
                    b->st[IOSIM_ST_DMA_STALE]++;
            }
            dma_pipe_end(b->pipe, &q, e->b, lat);
            sim_lat_count(b->st, b->lat_ns_hist, (uint64_t)(lat + 0.5));
            break;
        }
        case EV_WINDOW:
            window_back(b, e->flag);
            break;
        case EV_QUIET:
            if (e->flag)
                memcpy(quiet, b->st, sizeof quiet);
            else
                memcpy(b->st, quiet, sizeof quiet);
            break;
        default:
            break;
        }
    }
}

/* ---- a shared front's back ends on several threads ----------------------
 * With threads, the front fills a ring of FRONT_LOGS logs: a full one is
 * published (front_pool_start) and the front goes on with the next slot,
 * once every back end is done with the log that slot held.  Each back end
 * is a lane that does the published logs in order, one log at a time.
 * Each lane has a home thread (the front's, or a helper's), and each
 * thread runs its home lanes log by log: of them, the one furthest behind
 * (lowest index on a tie), so a thread does a log in all its lanes before
 * the next log; the front does its lanes of a log after filling the next
 * one (log j - 1 once j is published: a helper that caught up has j to
 * do meanwhile; run on j itself, it slept through every fill, 93 times
 * in 245 logs of the random stream, 10-22 so).  Why: a log of
 * FRONT_ROUND_MIN entries (about 100 KB of one-page requests) stays in
 * the L2 of the core that wrote or first read it while the thread's other
 * lanes read it there; a lane kept on one thread keeps its caches' lines
 * in that core (cachegrind, its LL as one core's 512 KB L2, 16 geometries
 * of gen nic 50k with --threads 2: 4.43 M LL misses -> 3.81 M; --threads
 * 1: 0.93 M).  When a thread has no
 * home lane to run, it takes another's: a helper the lane furthest
 * behind whenever it would sleep, the front only when the ring is full
 * (the lane holding the slot it needs next) or at the end; the lane taken
 * moves home, so the shares follow the lanes' costs.  (Before
 * 2026-12-08 a helper stuck to one lane while it had logs, then took the
 * lane furthest behind; logs of 32,768 entries, 786 KB on the random
 * stream, more than an L2, each lane read from L3.)  At the end the front
 * runs lanes until every one is done.  A back end is run by one thread at
 * a time and touches only its own state and the log it does (not written
 * until every lane is past it): results do not depend on the threads.
 * The mutex orders a log's writes before its reads, a lane's work before
 * its next run on another thread, and every lane's reads of a log before
 * the front refills it and before the caller's next use of the back ends
 * (settle, the memory check). */
struct front_pool;
typedef struct front_helper_arg {
    struct front_pool *pool;
    unsigned me; /* 1.. (0 is the front's thread) */
} front_helper_arg_t;

struct front_pool {
    iosim_sim_t *front;
    pthread_t *tid;
    front_helper_arg_t *arg;
    size_t nthreads;
    pthread_mutex_t lock;
    pthread_cond_t work; /* -> helpers: a log published, the end */
    pthread_cond_t room; /* -> front: a lane advanced */
    /* under lock: */
    uint64_t published; /* logs published; log j is in log[j % FRONT_LOGS] */
    uint64_t *done;     /* per back end: logs it has done */
    bool *running;      /* per back end: a thread runs it now */
    unsigned *home;     /* per back end: its thread (0 the front's) */
    bool stop;          /* helpers: no log will come */
    bool oom;           /* a back end's model ran out of memory */
};

/* Under lock: the lane thread `me` should run next, or nbacks if none can
 * run: of its home lanes with a log to do but the last `lag` published,
 * the one furthest behind (the lowest index on a tie); with `steal`, else
 * of the others with a log to do the one furthest behind, which then
 * moves home to `me`. */
static size_t front_pool_pick(struct front_pool *p, unsigned me, bool steal,
                              unsigned lag)
{
    size_t n = p->front->nbacks, own = n, other = n;
    for (size_t k = 0; k < n; k++) {
        if (p->running[k] || p->done[k] == p->published)
            continue;
        if (p->home[k] == me && p->done[k] + lag >= p->published)
            continue;
        size_t *best = p->home[k] == me ? &own : &other;
        if (*best == n || p->done[k] < p->done[*best])
            *best = k;
    }
    if (own == n && steal && other != n)
        p->home[own = other] = me;
    return own;
}
/* Lane k's next log, run by the caller, who holds the lock and picked k
 * (the lock is let go meanwhile). */
static void front_pool_run(struct front_pool *p, size_t k)
{
    iosim_sim_t *s = p->front, *b = s->backs[k];
    const front_log_t *L = &s->log[p->done[k] % FRONT_LOGS];
    p->running[k] = true;
    pthread_mutex_unlock(&p->lock);
    front_replay(s, L, b);
    bool oom = vtd_out_of_memory(b->vtd);
    pthread_mutex_lock(&p->lock);
    p->running[k] = false;
    p->done[k]++;
    p->oom |= oom;
    pthread_cond_signal(&p->room);
    if (p->done[k] < p->published) /* another helper may take it */
        pthread_cond_signal(&p->work);
}

static void *front_helper(void *arg)
{
    const front_helper_arg_t *a = arg;
    struct front_pool *p = a->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t next = p->front->nbacks;
        while (!p->stop &&
               (next = front_pool_pick(p, a->me, true, 0)) == p->front->nbacks)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop) /* the end (all done), or a failed run's: leave the
                        logs left */
            break;
        front_pool_run(p, next);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Under lock: may log `published` go into its slot (every lane past
 * the log the slot held)? */
static bool front_pool_room(const struct front_pool *p)
{
    for (size_t k = 0; k < p->front->nbacks; k++)
        if (p->done[k] + FRONT_LOGS <= p->published)
            return false;
    return true;
}

/* Under lock: whether every lane did every log published. */
static bool front_pool_idle(const struct front_pool *p)
{
    for (size_t k = 0; k < p->front->nbacks; k++)
        if (p->running[k] || p->done[k] < p->published)
            return false;
    return true;
}

/* The front runs its home lanes' logs but the last `lag` published, then
 * until `until` holds runs others' lanes (or sleeps while helpers run
 * them). */
static void front_pool_help(iosim_sim_t *s,
                            bool (*until)(const struct front_pool *),
                            unsigned lag)
{
    struct front_pool *p = s->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t next = front_pool_pick(p, 0, false, lag);
        if (next == s->nbacks) {
            if (until(p))
                break;
            next = front_pool_pick(p, 0, true, 0);
        }
        if (next == s->nbacks)
            pthread_cond_wait(&p->room, &p->lock);
        else
            front_pool_run(p, next);
    }
    s->backs_oom |= p->oom;
    pthread_mutex_unlock(&p->lock);
}

/* Every published log done in every back end (the caller helping). */
static void front_pool_wait(iosim_sim_t *s)
{
    front_pool_help(s, front_pool_idle, 0);
}

/* log[cur] is published; the front goes on with the next slot, emptied
 * once every lane is past the log it held. */
static void front_pool_start(iosim_sim_t *s)
{
    struct front_pool *p = s->pool;
    pthread_mutex_lock(&p->lock);
    p->published++;
    pthread_cond_broadcast(&p->work);
    s->cur = (unsigned)(p->published % FRONT_LOGS);
    pthread_mutex_unlock(&p->lock);
    front_pool_help(s, front_pool_room, 1);
    s->log[s->cur].nev = 0;
    s->log[s->cur].ndesc = 0;
    s->log[s->cur].none = 0;
}

static void front_pool_free(struct front_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (size_t t = 0; t < p->nthreads; t++)
        pthread_join(p->tid[t], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->room);
    free(p->tid);
    free(p->arg);
    free(p->done);
    free(p->running);
    free(p->home);
    free(p);
}

int sim_front_threads(iosim_sim_t *s, unsigned threads, iosim_err_t *err)
{
    size_t helpers = threads > 1 ? threads - 1u : 0;
    if (helpers >= s->nbacks)
        helpers = s->nbacks ? s->nbacks - 1 : 0;
    if (!helpers || s->pool)
        return 0;
    /* each log of the ring holds a round (FRONT_ROUND_MIN entries and a
     * batch's more): room made now, not by doubling from 4,096 entries
     * as it fills (copies of 5 M instructions in a 16-geometry sweep of
     * gen nic's 50k packets, 2026-12-07); only the pages written are
     * touched */
    for (unsigned k = 0; k < FRONT_LOGS; k++) {
        front_log_t *L = &s->log[k];
        if (vec_reserve(&L->ev, &L->ev_cap, 2u * FRONT_ROUND_MIN, 4096) ||
            vec_reserve(&L->one, &L->one_cap, 2u * FRONT_ROUND_MIN, 4096))
            return iosim_err_set(err, "out of memory");
    }
    struct front_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->tid = calloc(helpers, sizeof *p->tid)) ||
        !(p->arg = calloc(helpers, sizeof *p->arg)) ||
        !(p->done = calloc(s->nbacks, sizeof *p->done)) ||
        !(p->running = calloc(s->nbacks, sizeof *p->running)) ||
        !(p->home = calloc(s->nbacks, sizeof *p->home))) {
        if (p) {
            free(p->tid);
            free(p->arg);
            free(p->done);
            free(p->running);
        }
        free(p);
        return iosim_err_set(err, "out of memory");
    }
    p->front = s;
    /* homes dealt in turn, the front's thread last (it also fills the
     * logs); taking lanes moves them to where there is time */
    for (size_t k = 0; k < s->nbacks; k++)
        p->home[k] = (unsigned)((k + 1) % (helpers + 1));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->room, NULL);
    for (; p->nthreads < helpers; p->nthreads++) {
        p->arg[p->nthreads] =
            (front_helper_arg_t){p, (unsigned)p->nthreads + 1};
        if (pthread_create(&p->tid[p->nthreads], NULL, front_helper,
                           &p->arg[p->nthreads]))
            break;
    }
    s->pool = p; /* no helper started: the calling thread does it all */
    return 0;
}

/* A table page that could not be allocated where no error could be
 * returned (a device model's pre-trace mapping, host backing made inside
 * a translation): the run fails once per batch, not with warnings or
 * faults the trace does not have.  0, or -1 with err set. */
static int sim_check_memory(const iosim_sim_t *s, iosim_err_t *err)
{
    if (s->out_of_memory || s->front_oom || s->backs_oom ||
        vtd_out_of_memory(s->vtd))
        return iosim_err_set(err, "out of memory");
    return 0;
}

/* The fast path's loop over a batch: runs of fast records, each record
 * between them through the plain path; always inlined, so a call with
 * hooks known to be absent compiles without their checks. */
static inline __attribute__((always_inline)) int
sim_fast_batch(iosim_sim_t *s, const iosim_rec_t *recs, size_t n,
               const sim_fast_os_t os, iosim_err_t *err)
{
    for (size_t i = 0;; i++) {
        if (!s->pending.n && s->seen_any)
            i = sim_fast_run(s, recs, i, n, &os);
        if (i == n)
            break;
        if (sim_take(s, &recs[i], s->records_in++, err))
            return -1;
    }
    return sim_check_memory(s, err);
}

static int sim_consume(iosim_sim_t *s, const iosim_rec_t *recs, size_t n,
                       iosim_err_t *err)
{
    if (sim_fast_ok(s)) {
        /* whether the policy's IOVA is the trace's, asked once a batch */
        const os_policy_ops_t *ops = s->os;
        const sim_fast_os_t os = {
            ops->tick,
            ops->dma,
            s->os_state,
            !ops->dma_iova ||
                (ops->dma_iova_is_trace && ops->dma_iova_is_trace(s->os_state)),
            vtd_plain_brief_ok(s->vtd),
            false,
            vtd_quick_sh_ok(s->vtd)};
        if (s->nbacks)
            return sim_fast_batch(s, recs, n,
                                  (sim_fast_os_t){os.tick, os.dma, os.state,
                                                  os.trace_iova, false, true,
                                                  false},
                                  err);
        /* a policy without per-record hooks whose IOVA is the trace's
         * (strict, unless it reallocates), on the plain composition: a
         * copy of the loop without the hooks' checks or the per-record
         * choice of the translation's copy */
        if (!os.tick && !os.dma && os.trace_iova && os.plain)
            return sim_fast_batch(
                s, recs, n,
                (sim_fast_os_t){NULL, NULL, os.state, true, true, false, false},
                err);
        return sim_fast_batch(s, recs, n, os, err);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t no = s->records_in++;
        if (!s->ahead_cap) {
            if (sim_take(s, &recs[i], no, err))
                return -1;
            continue;
        }
        if (s->ahead_len == s->ahead_cap && sim_ahead_pop(s, err))
            return -1;
        size_t k = (s->ahead_head + s->ahead_len++) % s->ahead_cap;
        s->ahead[k] = recs[i];
        s->ahead_no[k] = no;
    }
    return sim_check_memory(s, err);
}

/* A shared front's back ends each do the front's log, in order, as
 * their own runs would have done it at the same points; then it is
 * emptied.  Nothing the front did depended on them: the front's own
 * tables and queue gave each answer it needed (what each back's gave the
 * same is checked: front_diverged). */

static void front_flush(iosim_sim_t *s, bool last)
{
    front_log_t *L = &s->log[s->cur];
    if (s->pool && !s->front_oom) {
        if (L->nev + L->none >= FRONT_ROUND_MIN || (last && L->nev))
            front_pool_start(s);
        if (last)
            front_pool_wait(s);
        return;
    }
    for (size_t k = 0; k < s->nbacks && !s->front_oom; k++) {
        front_replay(s, L, s->backs[k]);
        s->backs_oom |= vtd_out_of_memory(s->backs[k]->vtd);
    }
    L->nev = 0;
    L->ndesc = 0;
    L->none = 0;
}

int iosim_sim_consume(iosim_sim_t *s, const iosim_rec_t *recs, size_t n,
                      iosim_err_t *err)
{
    if (!s->nbacks)
        return sim_consume(s, recs, n, err);
    if (sim_consume(s, recs, n, err))
        return -1;
    front_flush(s, false);
    return sim_check_memory(s, err);
}

int iosim_sim_finish(iosim_sim_t *s, iosim_err_t *err)
{
    while (s->ahead_len)
        if (sim_ahead_pop(s, err))
            return -1;
    if (reorder_flush(&s->pending, sim_record_numbered, s, err))
        return -1;
    if ((s->dev && s->dev->finish && s->dev->finish(s->dev_state, err)) ||
        (s->os->finish && s->os->finish(s->os_state, err)) ||
        (s->hv->finish && s->hv->finish(s->hv_state, err)))
        return -1;
    if (s->nbacks)
        front_flush(s, true);
    if (s->epochs.len_ns && sim_epoch_finish(s, err))
        return -1;
    if (sim_check_memory(s, err))
        return -1;
    s->st[IOSIM_ST_TRACE_NS] = s->seen_any ? sim_span(s, s->now) : 0;
    if (s->st[IOSIM_ST_REQUESTS] == 0 && !s->window_closed)
        s->st[IOSIM_ST_REQUESTS] = s->meta.requests;
    if (s->window_closed && s->frozen[IOSIM_ST_REQUESTS] == 0)
        s->frozen[IOSIM_ST_REQUESTS] = s->meta.requests;
    s->st[IOSIM_ST_PT_PAGES] = vtd_pt_pages_live(s->vtd);
    s->st[IOSIM_ST_PT_PAGES_PEAK] = vtd_pt_pages_peak(s->vtd);
    if (s->window_closed) {
        s->frozen[IOSIM_ST_PT_PAGES] = s->st[IOSIM_ST_PT_PAGES];
        s->frozen[IOSIM_ST_PT_PAGES_PEAK] = s->st[IOSIM_ST_PT_PAGES_PEAK];
        memcpy(s->st, s->frozen, sizeof s->st);
        memcpy(s->lat_ns_hist, s->lat_frozen, sizeof s->lat_ns_hist);
        s->load = s->load_frozen;
    }
    return 0;
}

/* ---- results of another sim (system.h) -------------------------------- */

bool sim_writes_rows(const iosim_sim_t *s)
{
    return s->epochs.len_ns || s->xlate_log || s->dump;
}

/* What dst, fed nothing, takes of src's run besides the counters and the
 * latencies: warnings, per-CPU load, the window and the record counts. */
static void sim_take_run(iosim_sim_t *dst, const iosim_sim_t *src)
{
    memcpy(dst->warn, src->warn, sizeof dst->warn);
    dst->load = src->load;
    dst->load_frozen = src->load_frozen;
    dst->window_closed = src->window_closed;
    dst->records_in = src->records_in;
    dst->fast_records = src->fast_records;
    dst->seen_any = src->seen_any;
    dst->t_first = src->t_first;
    dst->now = src->now;
}

/* Slots of histogram h up to its last non-zero one (0: all zero). */
static size_t hist_used(const uint64_t *h)
{
    size_t n = SIM_LAT_SLOTS;
    while (n && !h[n - 1])
        n--;
    return n;
}

void sim_adopt_results(iosim_sim_t *dst, const iosim_sim_t *src)
{
    memcpy(dst->st, src->st, sizeof dst->st);
    memcpy(dst->frozen, src->frozen, sizeof dst->frozen);
    /* dst was fed nothing: its histograms are zero, so src's zero tail
     * is not copied (the pages of dst's 128 KB stay untouched: zmem) */
    memcpy(dst->lat_ns_hist, src->lat_ns_hist,
           hist_used(src->lat_ns_hist) * sizeof *src->lat_ns_hist);
    memcpy(dst->lat_frozen, src->lat_frozen,
           hist_used(src->lat_frozen) * sizeof *src->lat_frozen);
    sim_take_run(dst, src);
}

void sim_set_counter(iosim_sim_t *s, enum iosim_stat_id id, uint64_t v)
{
    s->st[id] = v;
}

/* ---- a shared front (system.h) ----------------------------------------- */

const char *sim_front_ruled_out(const iosim_sim_t *s)
{
    if (sim_writes_rows(s))
        return "a per-configuration output (--epoch, --xlate-log, "
               "--dump-accesses) is written";
    if (s->hv->map != hv_direct_map || s->hv->unmap != hv_direct_unmap ||
        s->hv->submit != hv_direct_submit ||
        s->hv->translate != hv_direct_translate)
        return "the hypervisor mode is not bare metal (hv.mode none)";
    if (s->inflight)
        return "vtd.inval_walks_in_flight is not complete";
    if (s->observer || s->nbacks)
        return "the sim is observed or a front already";
    if (s->records_in || s->seen_any || s->ahead_len)
        return "the sim was fed records";
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
        if (s->st[i])
            return "the sim counted at its creation";
    return NULL;
}

int sim_front_attach(iosim_sim_t *front, iosim_sim_t **backs, size_t n,
                     iosim_err_t *err)
{
    const char *no = sim_front_ruled_out(front);
    if (no)
        return iosim_err_set(err, "%s: cannot be a shared front: %s",
                             front->label, no);
    if (!n)
        return iosim_err_set(err, "a shared front without back ends");
    front->backs = calloc(n, sizeof *front->backs);
    front->log = calloc(FRONT_LOGS, sizeof *front->log);
    if (!front->backs || !front->log)
        return iosim_err_set(err, "out of memory");
    memcpy(front->backs, backs, n * sizeof *backs);
    front->nbacks = n;
    /* the front's own tables and queue answer it; what its VT-d model
     * counts is each back's to count, and its caches are each back's:
     * the front translates nothing (its requests are logged:
     * sim_dma_front, sim_front_one; hv.mode none and no walks in flight:
     * sim_front_ruled_out), so they stay empty, and the queue's time does
     * not depend on them: its invalidations are only timed */
    vtd_as_front(front->vtd, front->front_scratch);
    snprintf(front->label, sizeof front->label, "%s", backs[0]->label);
    front->strict_input = backs[0]->strict_input;
    return 0;
}

bool sim_front_settle(iosim_sim_t *f)
{
    for (size_t k = 0; k < f->nbacks; k++) {
        iosim_sim_t *b = f->backs[k];
        if (f->window_closed) {
            memcpy(b->st, b->frozen, sizeof b->st);
            memcpy(b->lat_ns_hist, b->lat_frozen, sizeof b->lat_ns_hist);
        }
        /* the latency buckets (iosim.lat_*) of what the back end timed:
         * front_replay_ones counts its requests in the histogram alone
         * (every other count of a bucket has its slot's, and a window's
         * restart clears both; the front times nothing) */
        for (unsigned j = IOSIM_ST_LAT_LT4; j <= IOSIM_ST_LAT_GE4K; j++)
            b->st[j] = 0;
        for (size_t i = 0; i < SIM_LAT_SLOTS; i++)
            b->st[IOSIM_ST_LAT_LT4 + lat_bucket_of_slot(i)] +=
                b->lat_ns_hist[i];
        for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
            b->st[i] += f->st[i];
        for (size_t i = 0; i < SIM_LAT_SLOTS; i++)
            b->lat_ns_hist[i] += f->lat_ns_hist[i];
        memcpy(b->frozen, b->st, sizeof b->frozen);
        memcpy(b->lat_frozen, b->lat_ns_hist, sizeof b->lat_frozen);
        sim_take_run(b, f);
    }
    bool same = true;
    for (size_t k = 0; k < f->nbacks; k++)
        same &= !f->backs[k]->front_diverged;
    return same;
}
