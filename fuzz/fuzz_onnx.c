/*
 * fuzz_onnx.c - the ONNX model reader, through a scratch file (it reads
 * from a path). A model that loads must have finite parameters and a spec
 * that parses back to itself, and a failed load must say why.
 */
#include "fuzz.h"
#include "model_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(0, ".onnx", data, size);
    bp_meta *meta = NULL;
    bp_onnx_info info;
    bp_error err;
    bp_net *net;

    if (!path)
        return 0;
    net = bp_onnx_load(path, &meta, &info, &err);
    model_check(net, meta, &err);
    bp_net_free(net);
    bp_meta_free(meta);
    return 0;
}
