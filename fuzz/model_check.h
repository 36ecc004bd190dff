/*
 * model_check.h - what the model harnesses check after a load: a failure
 * carries a message and no metadata; a success has finite parameters, a
 * spec that parses back to itself, and readable scaling metadata.
 */
#ifndef BP_FUZZ_MODEL_CHECK_H
#define BP_FUZZ_MODEL_CHECK_H

#include "fuzz.h"

#include "backprop.h"

#include <stdlib.h>
#include <string.h>

static void model_check(bp_net *net, const bp_meta *meta, const bp_error *err)
{
    char spec[4096], again[4096];
    bp_error err2;
    bp_net *copy;
    float *shift, *mul;
    size_t n;
    int I;

    if (!net) {
        if (err->message[0] == '\0')
            fuzz_fail("an error without a message");
        if (meta)
            fuzz_fail("metadata handed out on a failed load");
        return;
    }
    n = bp_net_param_count(net);
    for (size_t k = 0; k < n; k++) {
        float v = bp_net_params(net)[k];
        if (v != v || v - v != 0)
            fuzz_fail("a loaded parameter is not finite");
    }
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec)
        return;
    copy = bp_net_parse(spec, &err2);
    if (copy) {
        if (bp_net_spec(copy, again, sizeof again) < (int)sizeof again && strcmp(spec, again) != 0)
            fuzz_fail("a loaded network's spec does not parse back to itself");
        bp_net_free(copy);
    }
    I = bp_net_inputs(net);
    shift = malloc((size_t)I * sizeof *shift);
    mul = malloc((size_t)I * sizeof *mul);
    if (shift && mul && meta)
        (void)bp_meta_get_scaling(meta, I, shift, mul, &err2);
    free(shift);
    free(mul);
}

/* A model reader from memory, as bp__safetensors_load and bp__model_json_load. */
typedef bp_net *(*model_reader)(const char *path, const char *data, size_t len, bp_meta **meta,
                                bp_error *err);

/* One input through read, under the name path, then model_check. */
static inline int model_fuzz_one(model_reader read, const char *path, const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    bp_meta *meta = NULL;
    bp_error err;
    bp_net *net;

    if (!text)
        return 0;
    net = read(path, text, size, &meta, &err);
    model_check(net, meta, &err);
    bp_net_free(net);
    bp_meta_free(meta);
    free(text);
    return 0;
}

#endif
