/*
 * dnnl.h - oneDNN as the library reaches it: a table of its functions,
 * filled once on first use (math/dnnl.c). With a lazy build (BP_DNNL_SONAME)
 * the table comes from dlopen, so a run that never needs oneDNN never
 * loads it; otherwise the table points at the linked functions. Only
 * built with BP_HAVE_DNNL.
 */
#ifndef BP_MATH_DNNL_H
#define BP_MATH_DNNL_H

#ifdef BP_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>

/* Every oneDNN function the library calls, by its name less "dnnl_". */
#define BP__DNNL_FUNCS(X)                                                                   \
    X(sgemm)                                                                                \
    X(engine_create) X(engine_destroy) X(stream_create) X(stream_destroy)                  \
    X(memory_desc_init_by_tag) X(memory_desc_init_by_strides)                               \
    X(memory_desc_equal) X(memory_desc_get_size)                                            \
    X(memory_create) X(memory_destroy) X(memory_set_data_handle)                           \
    X(primitive_attr_create) X(primitive_attr_destroy)                                     \
    X(primitive_attr_set_scratchpad_mode)                                                  \
    X(convolution_forward_desc_init) X(convolution_backward_data_desc_init)                \
    X(convolution_backward_weights_desc_init) X(reorder_primitive_desc_create)             \
    X(primitive_desc_create) X(primitive_desc_destroy) X(primitive_desc_query_md)          \
    X(primitive_create) X(primitive_destroy) X(primitive_execute)                          \
    X(matmul_desc_init) X(primitive_desc_query)                                            \
    X(post_ops_create) X(post_ops_destroy) X(post_ops_append_sum)                          \
    X(primitive_attr_set_post_ops)

typedef struct bp__dnnl_api {
#define BP__DNNL_FIELD(name) __typeof__(dnnl_##name) *name;
    BP__DNNL_FUNCS(BP__DNNL_FIELD)
#undef BP__DNNL_FIELD
    dnnl_engine_t engine; /* the CPU engine, made once with the table */
} bp__dnnl_api;

/* The table once oneDNN is loaded, loading it on the first call (any
 * thread; the others wait); NULL when it cannot be loaded or lacks
 * sgemm. When every other function resolved and the engine was made,
 * those are set too, else they are NULL (check with bp__dnnl_prims). */
const bp__dnnl_api *bp__dnnl(void);
/* The table when it also holds the primitive functions and the engine. */
const bp__dnnl_api *bp__dnnl_prims(void);
/* Without loading it: 1 when oneDNN is known not to load. */
int bp__dnnl_failed(void);

/* oneDNN threads a call made outside a parallel region over the whole
 * OpenMP pool, and the split may change a sum. Around a call (or the
 * creation of a primitive, which plans its split): bp__dnnl_solo_begin
 * makes oneDNN see one thread and returns what bp__dnnl_solo_end needs to
 * restore. Inside a parallel region oneDNN runs on one thread anyway. */
int bp__dnnl_solo_begin(void);
void bp__dnnl_solo_end(int saved);

/* oneDNN's name for the implementation pd chose (a static string of the
 * library; "?" when it gives none), and whether that is a reference
 * kernel: the slow emulation a bf16 product must never run on. */
const char *bp__dnnl_impl(const bp__dnnl_api *d, const_dnnl_primitive_desc_t pd);
int bp__dnnl_is_reference(const char *impl);
#endif

#endif /* BP_MATH_DNNL_H */
