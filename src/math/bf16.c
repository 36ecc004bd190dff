/*
 * bf16.c - whether this process can run bfloat16 products, and the
 * conversion from float that the bf16 passes share.
 *
 * bf16 products run only as oneDNN's native kernels: a CPU without
 * avx512_bf16 or amx_bf16 (or without AVX-512 F, BW and VL, or an OS that
 * does not save AVX-512 state, or with oneDNN's own ISA cap below
 * avx512_core_bf16) is refused, never emulated.
 */
#include "internal.h"
#include "math/bf16.h"
#include "math/dnnl.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifdef BP_HAVE_DNNL
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

/* The extended state the OS saves (XCR0); 0 without OSXSAVE. */
static unsigned long long xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

enum { CPU_AVX512_BF16 = 1, CPU_AMX_BF16 = 2 };

/* Which of avx512_bf16 and amx_bf16 this CPU has (CPU_* bits), with the
 * OS saving their state; 0: neither. */
static int cpu_bf16(void)
{
    unsigned a, b, c, d, max = __get_cpuid_max(0, NULL);
    int avx512 = 0, amx = 0;
    if (max < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    amx = (d >> 22) & 1;
    /* AVX-512 F, BW and VL, which every CPU with either has: the
     * conversions below are compiled for them */
    if (!((b >> 16) & 1) || !((b >> 30) & 1) || !((b >> 31) & 1))
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    avx512 = (a >> 5) & 1;
    /* SSE, AVX and the three AVX-512 parts of the register state */
    if ((xcr0() & 0xe6) != 0xe6)
        return 0;
    return (avx512 ? CPU_AVX512_BF16 : 0) | (amx ? CPU_AMX_BF16 : 0);
}
#else
static int cpu_bf16(void)
{
    return 0;
}
#endif

/* oneDNN's ISA names below avx512_core_bf16, which its kernels honour. */
static int isa_below_bf16(const char *v)
{
    static const char *const low[] = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_MIC",
                                      "AVX512_MIC_4OPS", "AVX512_CORE", "AVX512_CORE_VNNI"};
    char up[32];
    size_t n = strlen(v);
    if (n >= sizeof up)
        return 0;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)v[i]);
    for (size_t i = 0; i < sizeof low / sizeof *low; i++)
        if (strcmp(up, low[i]) == 0)
            return 1;
    return 0;
}
#endif /* BP_HAVE_DNNL */

int bp_bf16_check(bp_error *err)
{
#ifndef BP_HAVE_DNNL
    return bp__error_set(err, BP_EUNSUPPORTED,
                         "bf16 needs the oneDNN build; this one has the built-in kernel only");
#else
    const char *knob = "ONEDNN_MAX_CPU_ISA", *isa = getenv(knob);
    if (!isa || !*isa) {
        knob = "DNNL_MAX_CPU_ISA";
        isa = getenv(knob);
    }
    if (!cpu_bf16())
        return bp__error_set(err, BP_EUNSUPPORTED,
                             "bf16 needs avx512_bf16 or amx_bf16: this CPU has neither "
                             "avx512_bf16 nor amx_bf16 (or the OS does not enable AVX-512 state)");
    if (isa && isa_below_bf16(isa))
        return bp__error_set(err, BP_EUNSUPPORTED,
                             "bf16 needs avx512_bf16 or amx_bf16: %s=%s turns off both", knob, isa);
    if (!bp__dnnl_prims())
        return bp__error_set(err, BP_EUNSUPPORTED,
                             "bf16 needs oneDNN, which could not be loaded");
    return 0;
#endif
}

/* Only ever called where bf16 runs, which needs AVX-512 F, BW and VL
 * (bp_bf16_check): compiled for them, the loop runs vectorized. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
__attribute__((target("avx512f,avx512bw,avx512vl")))
#endif
static void to_bf16_loop(const float *x, uint16_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = bp__bf16_of(x[i]);
}

#if defined(BP_HAVE_DNNL) && defined(__GNUC__) && defined(__x86_64__)
#define BF16_NATIVE 1
/* The CPU's own conversion (avx512_bf16), 32 values an instruction. It
 * rounds as bp__bf16_of does but flushes denormals to zero: 32 values
 * holding one take the loop instead. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void
to_bf16_native(const float *x, uint16_t *y, size_t n)
{
    const __m512i expo = _mm512_set1_epi32(0x7f800000), mag = _mm512_set1_epi32(0x7fffffff);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512i a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(x + i + 16);
        /* a denormal: no exponent bit set, some magnitude bit set */
        const __mmask16 da = _mm512_mask_test_epi32_mask(_mm512_testn_epi32_mask(a, expo), a, mag);
        const __mmask16 db = _mm512_mask_test_epi32_mask(_mm512_testn_epi32_mask(b, expo), b, mag);
        if (da | db) {
            to_bf16_loop(x + i, y + i, 32);
            continue;
        }
        const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_castsi512_ps(b), _mm512_castsi512_ps(a));
        _mm512_storeu_si512(y + i, (__m512i)h);
    }
    to_bf16_loop(x + i, y + i, n - i);
}
#endif

void bp__to_bf16(const float *x, uint16_t *y, size_t n)
{
#ifdef BF16_NATIVE
    /* picked on first use; threads that race store the same value */
    static _Atomic int native = -1;
    int v = atomic_load_explicit(&native, memory_order_relaxed);
    if (v < 0) {
        v = (cpu_bf16() & CPU_AVX512_BF16) != 0; /* amx_bf16 alone: the loop */
        atomic_store_explicit(&native, v, memory_order_relaxed);
    }
    if (v) {
        to_bf16_native(x, y, n);
        return;
    }
#endif
    to_bf16_loop(x, y, n);
}

float bp__bf16_round(float x)
{
    return bp__bf16_to_float(bp__bf16_of(x));
}
