/*
 * test_torch_dtypes.c - state dicts written from PyTorch in F32, F64, F16
 * and BF16 (tests/ref/torch_dtypes.h, from tests/ref/gen_torch_dtypes.py)
 * load with their spec, each weight equal to torch's own float32 reading.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include "ref/torch_dtypes.h"

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_torch_dtypes");
}

static void check(const char *dtype, const unsigned char *file, size_t size, const float *want)
{
    const char *path = tu_path("m.safetensors");
    bp_error err;
    bp_meta *meta = NULL;
    tu_write_file(path, file, size);
    bp_net *net = bp_model_load_spec(path, TORCH_DTYPES_SPEC, &meta, &err);
    if (!net)
        fail_msg("%s: %s", dtype, err.message);
    /* backprop's block is 0.weight, 0.bias, 2.weight, 2.bias in that order */
    const float *p = bp_net_params(net);
    assert_int_equal(bp_net_param_count(net), 3 * 4 + 4 + 4 * 2 + 2);
    for (size_t i = 0; i < bp_net_param_count(net); i++)
        if (!(p[i] == want[i]))
            fail_msg("%s: parameter %zu is %.9g, torch reads %.9g", dtype, i, (double)p[i],
                     (double)want[i]);
    assert_string_equal(bp_meta_get(meta, "net"), TORCH_DTYPES_SPEC);
    bp_meta_free(meta);
    bp_net_free(net);
}

static void test_torch_dtypes(void **state)
{
    (void)state;
    check("F32", TORCH_DTYPE_FILE_F32, sizeof TORCH_DTYPE_FILE_F32, TORCH_DTYPE_F32_F32);
    check("F64", TORCH_DTYPE_FILE_F64, sizeof TORCH_DTYPE_FILE_F64, TORCH_DTYPE_F32_F64);
    check("F16", TORCH_DTYPE_FILE_F16, sizeof TORCH_DTYPE_FILE_F16, TORCH_DTYPE_F32_F16);
    check("BF16", TORCH_DTYPE_FILE_BF16, sizeof TORCH_DTYPE_FILE_BF16, TORCH_DTYPE_F32_BF16);
    /* the rounding is real: F16 and BF16 differ from F32 */
    assert_true(TORCH_DTYPE_F32_F16[0] != TORCH_DTYPE_F32_F32[0]);
    assert_true(TORCH_DTYPE_F32_BF16[0] != TORCH_DTYPE_F32_F32[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_dtypes),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
