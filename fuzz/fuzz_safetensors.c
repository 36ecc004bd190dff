/*
 * fuzz_safetensors.c - the safetensors model reader, from memory. A model
 * that loads must have a spec that parses back to the same network, and
 * its metadata's scaling entry (when there is one) is read too.
 */
#include "fuzz.h"
#include "model_check.h"

#include "io/io.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    bp_meta *meta = NULL;
    bp_error err;
    bp_net *net;

    if (!text)
        return 0;
    net = bp__safetensors_load("fuzz.safetensors", text, size, &meta, &err);
    model_check(net, meta, &err);
    bp_net_free(net);
    bp_meta_free(meta);
    free(text);
    return 0;
}
