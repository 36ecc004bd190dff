/*
 * fuzz_safetensors.c - the safetensors model reader, from memory. A model
 * that loads must have a spec that parses back to the same network, and
 * its metadata's scaling entry (when there is one) is read too.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return model_fuzz_one(bp__safetensors_load, "fuzz.safetensors", data, size);
}
