/*
 * fuzz_model_json.c - the JSON form of a model (and under it the JSON
 * parser), from memory, with the same checks as the safetensors harness.
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
    net = bp__model_json_load("fuzz.json", text, size, &meta, &err);
    model_check(net, meta, &err);
    bp_net_free(net);
    bp_meta_free(meta);
    free(text);
    return 0;
}
