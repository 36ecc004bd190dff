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
