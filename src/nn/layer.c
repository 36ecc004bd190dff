/*
 * layer.c - the table of layer kinds: a new kind is its own file and one
 * entry here. The network, the spec and the files find a kind through
 * these look-ups and call it through nn/layer.h.
 */
#include "nn/layer.h"

#include <string.h>

static const bp__kind *const KINDS[] = {
    &bp__kind_dense,
    &bp__kind_conv,
    &bp__kind_maxpool,
    &bp__kind_avgpool,
    &bp__kind_act,
    &bp__kind_dropout,
    &bp__kind_batchnorm,
};
enum { N_KINDS = (int)(sizeof KINDS / sizeof KINDS[0]) };

const bp__kind *bp__kind_of(bp_layer_kind id)
{
    for (int i = 0; i < N_KINDS; i++)
        if (KINDS[i]->id == id)
            return KINDS[i];
    return NULL;
}

const bp__kind *bp__kind_by_word(const char *word, size_t len)
{
    for (int i = 0; i < N_KINDS; i++)
        if (KINDS[i]->word && strlen(KINDS[i]->word) == len &&
            memcmp(KINDS[i]->word, word, len) == 0)
            return KINDS[i];
    return NULL;
}

const bp__kind *const *bp__kinds(int *n)
{
    *n = N_KINDS;
    return KINDS;
}

int bp__window_args(bp_shape in, long long K, long long S, char *msg, size_t size)
{
    if (in.h <= 0 || in.w <= 0)
        bp__format(msg, size, "needs a CxHxW input, gets a flat vector of %d", in.c);
    else if (K <= 0)
        bp__format(msg, size, "needs a kernel of at least 1, gets %lld", K);
    else if (S <= 0)
        bp__format(msg, size, "needs a stride of at least 1, gets %lld", S);
    else
        return 0;
    return -1;
}

int bp__window_fits(bp_shape in, long long K, long long P, char *msg, size_t size)
{
    const long long Hp = in.h + 2 * P, Wp = in.w + 2 * P;
    if (Hp >= K && Wp >= K)
        return 0;
    if (P > 0)
        bp__format(msg, size, "gets %dx%dx%d, %lldx%lld with padding %lld; a %lldx%lld kernel "
                   "needs at least %lldx%lld", in.c, in.h, in.w, Hp, Wp, P, K, K, K, K);
    else
        bp__format(msg, size, "gets %dx%dx%d; a %lldx%lld kernel needs at least %lldx%lld",
                   in.c, in.h, in.w, K, K, K, K);
    return -1;
}

const char *bp_layer_kind_name(bp_layer_kind id)
{
    const bp__kind *K = bp__kind_of(id);
    return !K ? NULL : K->word ? K->word : "dense";
}

size_t bp_shape_size(bp_shape s)
{
    if (s.c <= 0 || s.h < 0 || s.w < 0)
        return 0;
    if (s.h == 0 && s.w == 0)
        return (size_t)s.c;
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}
