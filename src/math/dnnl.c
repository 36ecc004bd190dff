/*
 * dnnl.c - loading oneDNN once, as a table of its functions (math/dnnl.h).
 *
 * With BP_DNNL_SONAME the library is opened with dlopen on the first call
 * that needs it: loading it and the C++ runtime under it would lengthen
 * every process's start, which a run whose products all take the plain
 * loops should not pay (docs/PERFORMANCE.md). The first caller loads; any other thread
 * that comes meanwhile (products run in row blocks on several threads)
 * sleeps until it is done. sgemm alone makes the table usable for
 * products; the primitives (convolution) need every other function too.
 */
#include "internal.h"
#include "math/dnnl.h"

#ifdef BP_HAVE_DNNL
#include <string.h>

#ifdef BP_DNNL_SONAME
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

static bp__dnnl_api api;   /* filled once, then only read */
static int api_ok;         /* api.sgemm resolved */
static int api_prims;      /* every function resolved and the engine made */

/* After the functions are in the table: the engine, and whether the
 * primitive half is whole. */
static void finish(int all)
{
    api_ok = api.sgemm != NULL;
    if (!api_ok || !all || api.engine_create(&api.engine, dnnl_cpu, 0) != dnnl_success)
        return;
    api_prims = 1;
}

#ifdef BP_DNNL_SONAME
static atomic_int tried;   /* 1 once the load was tried */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* One symbol into its slot; 0 when it is missing. ISO C has no conversion
 * from an object pointer to a function pointer, hence the copy. */
static int resolve(void *lib, const char *name, void *slot, size_t size)
{
    void *sym = dlsym(lib, name);
    if (sym)
        memcpy(slot, &sym, size);
    return sym != NULL;
}

static void load(void)
{
    void *lib = dlopen(BP_DNNL_SONAME, RTLD_NOW | RTLD_LOCAL);
    int all = 1;
    if (lib) {
#define BP__DNNL_RESOLVE(name) all &= resolve(lib, "dnnl_" #name, &api.name, sizeof api.name);
        BP__DNNL_FUNCS(BP__DNNL_RESOLVE)
#undef BP__DNNL_RESOLVE
        finish(all);
    }
    atomic_store_explicit(&tried, 1, memory_order_release);
}

const bp__dnnl_api *bp__dnnl(void)
{
    pthread_once(&once, load);
    return api_ok ? &api : NULL;
}

const bp__dnnl_api *bp__dnnl_prims(void)
{
    return bp__dnnl() && api_prims ? &api : NULL;
}

int bp__dnnl_failed(void)
{
    return atomic_load_explicit(&tried, memory_order_acquire) && !api_ok;
}
#else
/* Linked at start-up: the table points at the functions themselves. */
static void load(void)
{
#define BP__DNNL_LINK(name) api.name = dnnl_##name;
    BP__DNNL_FUNCS(BP__DNNL_LINK)
#undef BP__DNNL_LINK
    finish(1);
}

#ifdef _OPENMP
/* without dlopen there is no pthread_once to lean on: OpenMP's lock does */
const bp__dnnl_api *bp__dnnl(void)
{
    static int done;
    int ready;
#pragma omp atomic read
    ready = done;
    if (!ready) {
#pragma omp critical(bp_dnnl_load)
        if (!done) {
            load();
#pragma omp atomic write
            done = 1;
        }
    }
    return api_ok ? &api : NULL;
}
#else
const bp__dnnl_api *bp__dnnl(void)
{
    static int done;
    if (!done) {
        load();
        done = 1;
    }
    return api_ok ? &api : NULL;
}
#endif

const bp__dnnl_api *bp__dnnl_prims(void)
{
    return bp__dnnl() && api_prims ? &api : NULL;
}

int bp__dnnl_failed(void)
{
    return 0;
}
#endif

int bp__dnnl_solo_begin(void)
{
#ifdef _OPENMP
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads > 1)
        omp_set_num_threads(1);
    return threads;
#else
    return 1;
#endif
}

const char *bp__dnnl_impl(const bp__dnnl_api *d, const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    if (d->primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        return "?";
    return impl;
}

int bp__dnnl_is_reference(const char *impl)
{
    return strncmp(impl, "ref", 3) == 0;
}

void bp__dnnl_solo_end(int saved)
{
#ifdef _OPENMP
    if (saved > 1)
        omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}
#endif /* BP_HAVE_DNNL */
