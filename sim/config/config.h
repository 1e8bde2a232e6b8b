/* config.h — the resolved configuration and the parameter tables.
 *
 * Concepts:
 *   - struct iosim_config is plain data: one sub-struct per component.
 *   - Each component declares a parameter table (iosim_param_t rows) in its
 *     own file sim/config/params_<component>.c; a row names the dotted YAML
 *     path, the type, the offset of the field, the default, the range, a
 *     help line and the source of the default.  The loader, --set, the
 *     echo and the reference (--help-config) all walk the same rows, so a
 *     parameter is declared exactly once.
 *   - Plug-in selectors (os.policy, hv.mode, cache replacement ...) are
 *     strings checked against their registries in iosim_config_validate().
 * Assumptions: YAML keys map 1:1 onto dotted paths; lists are not used.
 * Not modeled: includes, anchors/aliases beyond what libyaml resolves.
 */
#ifndef IOSIM_CONFIG_H
#define IOSIM_CONFIG_H

#include "dev/dev_params.h"
#include "iosim.h"

#define IOSIM_NAME_LEN 32

typedef enum iosim_ptype {
    IOSIM_P_BOOL, /* bool                                   */
    IOSIM_P_U32,  /* uint32_t                               */
    IOSIM_P_U64,  /* uint64_t (accepts 4K, 2M, 1G suffixes) */
    IOSIM_P_F64,  /* double                                 */
    IOSIM_P_STR,  /* char[IOSIM_NAME_LEN]                   */
} iosim_ptype_t;

typedef struct iosim_param {
    const char *path; /* "vtd.iotlb.sets"                               */
    iosim_ptype_t type;
    size_t offset;       /* offsetof(struct iosim_config, ...)             */
    const char *def;     /* default as text; NULL = required               */
    double min, max;     /* numeric range (inclusive); ignored if min>max  */
    const char *choices; /* STR: "a|b|c" allowed values, NULL = free text  */
    const char *help;
    const char *source; /* where the default comes from                   */
} iosim_param_t;

/* Bytes of the configuration that hold the plug-ins' parameter structs
 * (all registered policies, modes and models together), and their
 * alignment. */
#define IOSIM_PLUGIN_AREA 2048
#define IOSIM_PLUGIN_ALIGN 16
/* Rows of all tables together (components' and plug-ins'), terminators
 * included. */
#define IOSIM_PARAM_ROWS_MAX 512

/* The choices of a cache's replacement row: "lru|plru|..." as the
 * replacement-policy registry lists them (sim/cache/repl.c), filled in
 * when the tables are assembled. */
extern const char iosim_choices_repl[];
/* The choices of hv.host_policy: the OS policies a Linux host has that
 * translate (os.h capture), filled in the same way. */
extern const char iosim_choices_host_policy[];

/* One generic set-associative cache (sim/cache/cache.h). */
typedef struct iosim_cache_params {
    bool enabled;
    uint32_t sets;
    uint32_t ways;
    char replacement[IOSIM_NAME_LEN]; /* lru | plru | fifo | random */
    double hit_ns;                    /* lookup latency on a hit   */
} iosim_cache_params_t;

/* Every translation cache of the VT-d model, once: C(ID, "name", field of
 * struct iosim_config, seed offset).  The name prefixes its parameters
 * (params_vtd.c declares their rows and defaults) and its messages;
 * validation (config.c) and the model (vtd.c) walk this list; the seed
 * offset (added to sim.seed) gives each cache its own PRNG stream for
 * random replacement. */
// clang-format off
#define IOSIM_VTD_CACHES(C)                                                  \
    C(IOTLB, "vtd.iotlb", vtd.iotlb, 1)                                      \
    C(CONTEXT, "vtd.context_cache", vtd.context_cache, 2)                    \
    C(PASID, "vtd.pasid_cache", vtd.pasid_cache, 3)                          \
    C(PSC_PML5, "vtd.psc_pml5", vtd.psc[0], 10)                              \
    C(PSC_PML4, "vtd.psc_pml4", vtd.psc[1], 11)                              \
    C(PSC_PDPT, "vtd.psc_pdpt", vtd.psc[2], 12)                              \
    C(PSC_PD, "vtd.psc_pd", vtd.psc[3], 13)                                  \
    C(S2_PSC_PML5, "vtd.s2_psc_pml5", vtd.s2_psc[0], 20)                     \
    C(S2_PSC_PML4, "vtd.s2_psc_pml4", vtd.s2_psc[1], 21)                     \
    C(S2_PSC_PDPT, "vtd.s2_psc_pdpt", vtd.s2_psc[2], 22)                     \
    C(S2_PSC_PD, "vtd.s2_psc_pd", vtd.s2_psc[3], 23)                         \
    C(S2_TLB, "vtd.s2_tlb", vtd.s2_tlb, 5)                                   \
    C(DEVTLB, "vtd.devtlb", vtd.devtlb, 4)
// clang-format on

enum iosim_vtd_cache_id {
#define IOSIM_X_CACHE_ID(id, name, field, seed) IOSIM_CACHE_##id,
    IOSIM_VTD_CACHES(IOSIM_X_CACHE_ID)
#undef IOSIM_X_CACHE_ID
        IOSIM_CACHE_COUNT
};

struct iosim_config {
    struct {
        uint64_t seed;                 /* PRNG seed of every component */
        bool window_only;              /* count only inside BEGIN..END  */
        double app_cycles_per_request; /* CPU work without the IOMMU    */
    } sim;
    struct {
        char root_mode[IOSIM_NAME_LEN];     /* legacy | scalable             */
        char translation[IOSIM_NAME_LEN];   /* second-stage | first-stage |
                                               nested | passthrough          */
        uint32_t fs_levels;                 /* 4 | 5                         */
        uint32_t ss_levels;                 /* 3 | 4 | 5                     */
        bool caching_mode;                  /* CAP.CM                        */
        uint32_t mamv;                      /* CAP.MAMV                      */
        bool honour_ih;                     /* IH=1 keeps PSC entries        */
        char psi_psc_scope[IOSIM_NAME_LEN]; /* range | domain            */
        char psi_iotlb_scope[IOSIM_NAME_LEN]; /* page|pde|domain|qemu-mask8 */
        bool ats; /* device-TLB present            */
        iosim_cache_params_t iotlb;
        uint32_t iotlb_entries; /* 0, or sets x ways (sets derived
                                   from it when ways is given)   */
        iosim_cache_params_t context_cache;
        iosim_cache_params_t pasid_cache;
        iosim_cache_params_t psc[4];    /* PML5E/PML4E/PDPTE/PDE (1st stage
                                           or single stage)             */
        iosim_cache_params_t s2_psc[4]; /* second-stage PSCs when nested */
        iosim_cache_params_t s2_tlb;    /* nested: GPA->HPA of table ptrs*/
        iosim_cache_params_t devtlb;
        /* timing */
        double mem_ns;               /* DRAM reference latency        */
        double llc_ns;               /* LLC-hit reference latency     */
        double llc_hit_fraction;     /* page-table reads hitting LLC  */
        uint32_t max_walks;          /* walks in flight               */
        char timing[IOSIM_NAME_LEN]; /* serial | overlapped (summary) */
        uint32_t max_outstanding;    /* device requests in flight, 0 =
                                        no limit                      */
        char inval_walks_in_flight[IOSIM_NAME_LEN]; /* complete |
                                             drop-fill | restart: walks in
                                             flight at a PSC-dropping
                                             invalidation                  */
        double dma_base_ns;     /* l0 per request_bytes of data  */
        double link_gbps;       /* link bandwidth cap            */
        uint32_t request_bytes; /* p of the F&S model            */
        /* invalidation queue */
        uint32_t iq_batch_max; /* descriptors per submission    */
        double iq_desc_ns;     /* IOTLB / PASID-IOTLB descriptor*/
        double iq_cc_ns;       /* context-cache descriptor      */
        double iq_pc_ns;       /* PASID-cache descriptor        */
        double iq_iec_ns;      /* IEC and other descriptors     */
        double iq_wait_ns;     /* wait descriptor + status write*/
        double iq_devtlb_ns;   /* ATS invalidation round trip   */
    } vtd;
    struct {
        char policy[IOSIM_NAME_LEN];    /* strict | lazy | passthrough |
                                           trace | schemes...            */
        char iova_mode[IOSIM_NAME_LEN]; /* replay | reallocate           */
        /* The Linux version whose Intel driver the model follows, and
         * the settings that differ between versions as given: "kernel" =
         * as os.kernel says (sim/os/os_kernel.c). */
        char kernel[IOSIM_NAME_LEN];         /* auto | 6.1 | 6.12             */
        char kernel_default[IOSIM_NAME_LEN]; /* auto without one: 6.1|6.12 */
        char strict_batch_set[IOSIM_NAME_LEN];        /* kernel | 1..254   */
        char pass_ih_set[IOSIM_NAME_LEN];             /* kernel|true|false */
        char flush_all_devtlb_cm_set[IOSIM_NAME_LEN]; /* kernel|true|false */
        /* Their effective values (not parameters): os_kernel_resolve()
         * fills them when a sim is created; the policies read these. */
        uint32_t strict_batch;           /* descs per qi_submit (16 / 1)  */
        bool pass_ih;                    /* strict PSI carries IH=1       */
        bool flush_all_devtlb_cm;        /* flush-all covers the devTLB
                                            under caching mode            */
        uint32_t kernel_sublevel;        /* 6.12.N: N (0 = unknown)       */
        uint32_t fq_size;                /* flush-queue entries per CPU   */
        double fq_timeout_ms;            /* flush-queue timer             */
        uint32_t hz;                     /* CONFIG_HZ (timer ticks)       */
        uint32_t fq_timer_slack_jiffies; /* timer runs this much later    */
        double cpu_ghz;                  /* converts cycles <-> ns        */
        double map_cycles;
        double unmap_cycles;
        double iova_alloc_cycles;
        double iova_free_cycles;
        double inval_submit_cycles; /* qi_submit_sync CPU work       */
        double fq_flush_cycles;
    } os;
    struct {
        char mode[IOSIM_NAME_LEN];        /* none | emulated | nested |
                                             guest-passthrough             */
        char host_policy[IOSIM_NAME_LEN]; /* strict | lazy                 */
        double vmexit_cycles;             /* exit + re-entry round trip    */
        double qemu_desc_cycles;          /* QEMU work per descriptor      */
        double shadow_page_cycles;        /* walk + VFIO ioctl per page    */
    } hv;
    struct iosim_dev_config dev; /* device model (sim/dev/)       */
    /* The plug-ins' own parameter structs (iosim_plugin_params); laid out
     * by plugin_params.c from the registries. */
    _Alignas(IOSIM_PLUGIN_ALIGN) unsigned char plugin[IOSIM_PLUGIN_AREA];
    /* Not a parameter: bit i set when the config file, a --set or a
     * --compare / sweep item gave row i (config_param_index) a value, so
     * that the settings a trace implies (iosim_config_apply_trace) leave
     * it as given. */
    uint64_t given[IOSIM_PARAM_ROWS_MAX / 64];
};

/* A plug-in's parameters: rows whose offsets are offsetof() its own
 * struct of size bytes, kept in struct iosim_config.plugin.  A policy,
 * mode or model points to one from its ops struct (params); paths keep
 * their group (scheme.*, hv.*, dev.<model>.*) as YAML and --set see it.
 * Its validate hook (NULL = nothing to check) sees the whole
 * configuration and its own struct; it runs when the plug-in is the one
 * selected. */
typedef struct iosim_plugin_params {
    const iosim_param_t *rows; /* NULL-path ended */
    size_t size;               /* sizeof the plug-in's struct */
    int (*validate)(const iosim_config_t *c, const void *params,
                    iosim_err_t *err);
    /* Settings "KEY=VALUE" the plug-in needs, NULL-terminated (NULL =
     * none), applied by iosim_plugin_apply_implies when a --compare or
     * sweep item names the plug-in (policy@mode: OS policies and
     * hypervisor modes), before the point's own settings, which may
     * override them.  Items name no device model or replacement policy,
     * so theirs apply only where a front end calls the function. */
    const char *const *implies;
} iosim_plugin_params_t;

/* Sets each of pp's implied settings in c (iosim_config_set, in order,
 * so they count as given: a trace's implied settings do not replace
 * them): 0, or -1 with err naming the setting. */
int iosim_plugin_apply_implies(iosim_config_t *c,
                               const iosim_plugin_params_t *pp,
                               iosim_err_t *err);

/* The plug-in's struct in c (rows = its params.rows), or NULL when no
 * registered plug-in has those rows. */
const void *iosim_plugin_params(const iosim_config_t *c,
                                const iosim_param_t *rows);

/* The names a selector accepts, '|'-separated into buf (n bytes):
 * os.policy, hv.mode and dev.model ("auto|none|" first) from their
 * registries, any *.replacement from the replacement-policy registry,
 * hv.host_policy from the OS policies a Linux host has;
 * for messages that list the valid names, did-you-mean and the
 * reference.  Returns false (buf "") for any other path. */
bool iosim_registry_names(const char *path, char *buf, size_t n);

/* The self-description (iosim_plugin_params_t) of plug-in name that
 * selector path picks: os.policy, hv.mode, dev.model or any
 * *.replacement; NULL for another path or an unknown name. */
const iosim_plugin_params_t *iosim_registry_plugin(const char *path,
                                                   const char *name);

/* Runs the validate hook of each plug-in the configuration selects
 * (os.policy, hv.mode) and of every device model (dev.model auto picks
 * one per trace): 0, or -1 with err set. */
int iosim_plugins_validate(const iosim_config_t *c, iosim_err_t *err);

/* Parameter tables (each component's file defines one, NULL-path ended). */
extern const iosim_param_t iosim_params_sim[];
extern const iosim_param_t iosim_params_vtd[];
extern const iosim_param_t iosim_params_os[];
extern const iosim_param_t iosim_params_hv[];
extern const iosim_param_t iosim_params_dev[];

/* Every table in order, NULL-terminated: the components' tables with the
 * selectable plug-ins' rows after their component's (hv modes after hv.*,
 * OS policies after them, device models after dev.*), in registry order.
 * Assembled once from the registries (register plug-ins before the first
 * call); NULL when they do not fit (IOSIM_PLUGIN_AREA). */
const iosim_param_t *const *iosim_param_table_list(void);

/* Index of row p among all rows as assembled (p from
 * iosim_param_table_list or iosim_param_find), for struct
 * iosim_config.given; IOSIM_PARAM_ROWS_MAX for a row not among them. */
size_t config_param_index(const iosim_param_t *p);

/* Finds a parameter by dotted path; NULL if none. */
const iosim_param_t *iosim_param_find(const char *path);
/* Parses text into the field of c; why gets a reason on failure. */
int iosim_param_assign(iosim_config_t *c, const iosim_param_t *p,
                       const char *text, char *why, size_t whylen);
/* Formats the current value of the field (for echo). */
void iosim_param_format(const iosim_config_t *c, const iosim_param_t *p,
                        char *buf, size_t n);

/* Whether row p's value in c certainly passes iosim_param_assign as the
 * text iosim_param_format makes of it (what iosim_config_validate checks
 * of every row), without making the text; false: not certain, ask
 * iosim_param_assign (config_codec.c). */
bool config_param_ok(const iosim_config_t *c, const iosim_param_t *p);

/* A byte image of row p's value in c, into buf (at least
 * IOSIM_PARAM_IMAGE_MAX bytes); returns its length.  For values that
 * validate, two configurations' images of a row are equal exactly when
 * iosim_param_format writes the same text (integers and doubles by their
 * bits: the double format is the shortest that reads back as the same
 * double, so distinct doubles print differently; strings up to the NUL;
 * bools as 0/1), without formatting (sweep signatures, diffs). */
#define IOSIM_PARAM_IMAGE_MAX (IOSIM_NAME_LEN + 1)
size_t config_param_image(const iosim_config_t *c, const iosim_param_t *p,
                          unsigned char *buf);

/* The loader's YAML reading for other YAML inputs (sweep files): path
 * read whole (at most 1 MiB, nested at most 64 levels: hostile input
 * stays cheap) and parsed into *doc, one document only.  Returns 0 (the
 * caller deletes doc; an empty file has no root node), or -1 with err
 * "file:line:col: what". */
struct yaml_document_s;
int config_yaml_parse(const char *path, struct yaml_document_s *doc,
                      iosim_err_t *err);
/* The parameter or group nearest to path ("did you mean"), in buf, or
 * NULL if none is close. */
const char *config_suggest(const char *path, char *buf, size_t n);

/* Calls fn for every parameter in table order with its key, c's value as
 * the echo prints it, and its type (typed report and sweep columns). */
typedef void (*config_each_fn)(const char *key, const char *value,
                               iosim_ptype_t type, void *arg);
void config_each(const iosim_config_t *c, config_each_fn fn, void *arg);

#endif /* IOSIM_CONFIG_H */
