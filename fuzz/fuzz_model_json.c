/*
 * fuzz_model_json.c - the JSON form of a model (and under it the JSON
 * parser), from memory, with the same checks as the safetensors harness.
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
    return model_fuzz_one(bp__model_json_load, "fuzz.json", data, size);
}
