/*
 * fuzz_safetensors.c - the safetensors model reader, from memory. A model
 * that loads must have a spec that parses back to the same network, and
 * its metadata's scaling entry (when there is one) is read too. Each input
 * is also read with a spec given, as a PyTorch state dict is.
 */
#include "fuzz.h"
#include "model_check.h"

#include "io/io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    return 0;
}

static bp_net *load_with_spec(const char *path, const char *data, size_t len, bp_meta **meta,
                              bp_error *err)
{
    return bp__safetensors_load_spec(path, data, len, "2,3:relu,1:identity", meta, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    model_fuzz_one(bp__safetensors_load, "fuzz.safetensors", data, size);
    return model_fuzz_one(load_with_spec, "fuzz.safetensors", data, size);
}
