/*
 * test_model.c - model files: safetensors save/load round trips bit for bit,
 * the JSON form for hand-written networks, every class of bad file refused
 * with a message naming the file and the field, and atomic saves that leave
 * the previous file intact when writing fails.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <unistd.h>
#include <sys/stat.h>

static int setup_dir(void **state)
{
    (void)state;
    return tu_dir_make("bp_test_model");
}

/* Write a safetensors file from a header text and raw data. */
static void write_st(const char *path, const char *header, const void *data, size_t n)
{
    size_t h = strlen(header);
    unsigned char *b = tu_xmalloc(8 + h + n + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    if (n)
        memcpy(b + 8 + h, data, n);
    tu_write_file(path, b, 8 + h + n);
    free(b);
}

/* Load must fail with code and a message containing each given piece. */
static void expect_refused(const char *path, int code, const char *piece1, const char *piece2)
{
    bp_error err;
    memset(&err, 0, sizeof err);
    bp_net *net = bp_model_load(path, NULL, &err);
    if (net)
        fail_msg("%s loaded, expected an error containing '%s'", path, piece1);
    tu_expect_error(&err, path, code, piece1, piece2);
}

static void test_roundtrip_bits(void **state)
{
    (void)state;
    bp_net *net = tu_net("5,7:tanh,3:leaky_relu=0.2:nobias,4:softmax");
    bp_rng rng;
    bp_rng_seed(&rng, 42);
    TU_ASSERT_OK(bp_net_init(net, &rng, BP_INIT_XAVIER_UNIFORM, 0));
    /* Give the biases values too, so they are checked. */
    float *b = bp_net_bias(net, 0);
    for (int i = 0; i < 7; i++)
        b[i] = (float)(0.25 * i - 1.0);
    bp_meta *meta = bp_meta_create();
    assert_non_null(meta);
    TU_ASSERT_OK(bp_meta_set(meta, "loss", "cce"));
    TU_ASSERT_OK(bp_meta_set(meta, "note", "quote \" backslash \\ newline \n tab \t"));
    bp_error err;
    const char *path = tu_path("model.safetensors");
    TU_ASSERT_OK(bp_model_save(path, net, meta, &err));

    bp_meta *back = NULL;
    bp_net *loaded = bp_model_load(path, &back, &err);
    if (!loaded)
        fail_msg("load: %s", err.message);
    assert_int_equal(bp_net_param_count(loaded), bp_net_param_count(net));
    assert_memory_equal(bp_net_params(loaded), bp_net_params(net),
                        bp_net_param_count(net) * sizeof(float));
    assert_string_equal(bp_meta_get(back, "net"), "5,7:tanh,3:leaky_relu=0.2:nobias,4:softmax");
    assert_string_equal(bp_meta_get(back, "loss"), "cce");
    assert_string_equal(bp_meta_get(back, "note"), "quote \" backslash \\ newline \n tab \t");
    assert_string_equal(bp_meta_get(back, "backprop_version"), bp_version());

    /* Same predictions, bit for bit. */
    float x[2 * 5];
    tu_fill_normal(&rng, x, 10, 1.0);
    const float *y1, *y2;
    TU_ASSERT_OK(bp_net_forward(net, 2, x, &y1));
    TU_ASSERT_OK(bp_net_forward(loaded, 2, x, &y2));
    assert_memory_equal(y1, y2, 2 * 4 * sizeof(float));

    /* Saving the loaded model again gives the same bytes. */
    const char *path2 = tu_path("again.safetensors");
    TU_ASSERT_OK(bp_model_save(path2, loaded, back, &err));
    size_t n1, n2;
    char *b1 = tu_read_file(path, &n1), *b2 = tu_read_file(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    /* The layout: 8-byte length, header padded to 8 bytes, then data. */
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h |= (uint64_t)(unsigned char)b1[i] << (8 * i);
    assert_int_equal(h % 8, 0);
    assert_int_equal(n1, 8 + h + bp_net_param_count(net) * 4);
    free(b1);
    free(b2);
    bp_meta_free(meta);
    bp_meta_free(back);
    bp_net_free(loaded);
    bp_net_free(net);
}

static void test_json_form(void **state)
{
    (void)state;
    const char *path = tu_path("lesson.json");
    const char *text = "{\"net\": \"2,2:relu:nobias,1:relu:nobias\",\n"
                       " \"weights\": [[[2,1],[1,2]], [[1,1]]]}\n";
    tu_write_file(path, text, strlen(text));
    bp_error err;
    bp_meta *meta = NULL;
    bp_net *net = bp_model_load(path, &meta, &err);
    if (!net)
        fail_msg("%s", err.message);
    float x[2] = {0, 3};
    const float *y;
    TU_ASSERT_OK(bp_net_forward(net, 1, x, &y));
    TU_ASSERT_EXACT(y[0], 9.0f); /* the lesson's prediction */
    assert_string_equal(bp_meta_get(meta, "net"), "2,2:relu:nobias,1:relu:nobias");
    bp_meta_free(meta);
    bp_net_free(net);

    /* With biases and metadata. */
    const char *p2 = tu_path("bias.json");
    const char *t2 = "{\"net\": \"2,1:identity\", \"weights\": [[[0.5, -2]]], \"biases\": [[1.25]],"
                     " \"metadata\": {\"loss\": \"mse\"}}";
    tu_write_file(p2, t2, strlen(t2));
    net = bp_model_load(p2, &meta, &err);
    if (!net)
        fail_msg("%s", err.message);
    float x2[2] = {4, 1};
    TU_ASSERT_OK(bp_net_forward(net, 1, x2, &y));
    TU_ASSERT_EXACT(y[0], 1.25f); /* 0.5*4 - 2*1 + 1.25 */
    assert_string_equal(bp_meta_get(meta, "loss"), "mse");
    bp_meta_free(meta);
    bp_net_free(net);
}

static void test_json_form_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *piece1, *piece2;
    } cases[] = {
        {"{\"net\": \"2,1:relu\"}", "weights", "missing"},
        {"{\"weights\": []}", "\"net\"", "missing"},
        {"{\"net\": 3, \"weights\": []}", "\"net\"", "a number"},
        {"{\"net\": \"2,1:rleu\", \"weights\": [[[1,2]]]}", "rleu", NULL},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,2]], [[3]]]}", "2 layers", "1"},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,2,3]]]}", "weights[0][0]", "3 values, expected 2"},
        {"{\"net\": \"2,2:relu\", \"weights\": [[[1,2]]]}", "weights[0]", "1 rows, expected 2"},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,\"a\"]]]}", "weights[0][0][1]", "a string"},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,1e39]]]}", "weights[0][0][1]", "float range"},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,2]]], \"biases\": [[1,2]]}", "biases[0]",
         "2 values, expected 1"},
        {"{\"net\": \"2,1:relu:nobias\", \"weights\": [[[1,2]]], \"biases\": [[1]]}", "biases[0]",
         "no bias"},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,2]]], \"color\": 1}", "unknown field", "color"},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,2]]],}", "line 1", "expected a string key"},
        {"{\"net\": \"2,1:relu\",\n \"weights\": [[[1,2]]]", "line 2", "expected ',' or '}'"},
        {"{\"net\": \"2,1:relu\", \"net\": \"2,1:relu\"}", "duplicate key", NULL},
        {"[1, 2]", "expected a JSON object", NULL},
        {"{\"net\": \"2,1:relu\", \"weights\": [[[1,2]]], \"metadata\": {\"a\": 1}}", "metadata.a",
         "a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = tu_path("bad.json");
        tu_write_file(path, cases[i].text, strlen(cases[i].text));
        expect_refused(path, BP_EFORMAT, cases[i].piece1, cases[i].piece2);
    }
}

/* A valid one-layer header for "2,1:identity" with the given pieces. */
static void st_case(const char *header, const float *data, size_t n, int code, const char *p1,
                    const char *p2)
{
    const char *path = tu_path("bad.safetensors");
    write_st(path, header, data, n * sizeof(float));
    expect_refused(path, code, p1, p2);
}

static void test_safetensors_errors(void **state)
{
    (void)state;
    const float d3[3] = {1, 2, 3};
    const char *meta = "\"__metadata__\":{\"net\":\"2,1:identity\"}";
    char h[512];

    /* The valid file first, to show the cases below differ only in the flaw. */
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", meta);
    write_st(tu_path("ok.safetensors"), h, d3, sizeof d3);
    bp_error err;
    bp_net *net = bp_model_load(tu_path("ok.safetensors"), NULL, &err);
    if (!net)
        fail_msg("%s", err.message);
    TU_ASSERT_EXACT(bp_net_weight(net, 0)[1], 2.0f);
    TU_ASSERT_EXACT(bp_net_bias(net, 0)[0], 3.0f);
    bp_net_free(net);

    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", meta);
    st_case(h, d3, 3, BP_EFORMAT, "layers.0.weight", "\"I32\", expected \"F32\"");
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", meta);
    st_case(h, d3, 3, BP_EFORMAT, "layers.0.weight", "shape is [2, 1], not [1, 2]");
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", meta);
    st_case(h, d3, 2, BP_EFORMAT, "'layers.0.bias' is missing", NULL);
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
             "\"layers.1.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[12,16]}}", meta);
    st_case(h, d3, 3, BP_EFORMAT, "unexpected tensor 'layers.1.weight'", NULL);
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,16]}}", meta);
    st_case(h, d3, 3, BP_EFORMAT, "layers.0.bias", "data_offsets");
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", meta);
    st_case(h, (const float[4]){1, 2, 3, 4}, 4, BP_EFORMAT, "account for 12 bytes", "holds 16");
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", meta);
    st_case(h, d3, 2, BP_EFORMAT, "account for 12 bytes", "holds 8");
    snprintf(h, sizeof h,
             "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}");
    st_case(h, d3, 2, BP_EFORMAT, "has no network spec", "e.g. --net 2,1:identity:nobias");
    snprintf(h, sizeof h,
             "{\"__metadata__\":{\"net\":\"2,1:softmx\"},\"layers.0.weight\":{\"dtype\":\"F32\","
             "\"shape\":[1,2],\"data_offsets\":[0,8]}}");
    st_case(h, d3, 2, BP_EFORMAT, "__metadata__.net", "softmx");
    snprintf(h, sizeof h,
             "{%s,\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", meta);
    const float nan3[3] = {1, 0.0f / 0.0f, 3};
    st_case(h, nan3, 3, BP_EFORMAT, "layers.0.weight", "not finite");
    st_case("{\"__metadata__\":{\"net\":1}}", NULL, 0, BP_EFORMAT, "__metadata__.net", "a number");
    st_case("[]", NULL, 0, BP_EFORMAT, "an array, expected an object", NULL);
    st_case("{\"a\":", NULL, 0, BP_EFORMAT, "header JSON", "line 1");

    /* Header length beyond the file, and an absurd one. */
    const char *path = tu_path("len.safetensors");
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    tu_write_file(path, big, 10);
    expect_refused(path, BP_EFORMAT, "header length", "impossible");
    tu_write_file(path, "\x02\0\0", 3);
    expect_refused(path, BP_EFORMAT, "shorter than the 8-byte header length", NULL);
    tu_write_file(path, "", 0);
    expect_refused(path, BP_EFORMAT, "empty file", NULL);
    expect_refused(tu_dir(), BP_EIO, "directory", NULL);
    expect_refused(tu_path("missing.safetensors"), BP_EIO, "No such file", NULL);
}

/* Every truncation of a valid file is refused cleanly. */
static void test_truncated(void **state)
{
    (void)state;
    bp_net *net = tu_net("3,4:relu,2:sigmoid");
    const char *path = tu_path("full.safetensors");
    bp_error err;
    TU_ASSERT_OK(bp_model_save(path, net, NULL, &err));
    size_t n;
    char *bytes = tu_read_file(path, &n);
    const char *cut = tu_path("cut.safetensors");
    for (size_t len = 0; len < n; len++) {
        tu_write_file(cut, bytes, len);
        bp_net *bad = bp_model_load(cut, NULL, &err);
        if (bad)
            fail_msg("a file cut to %zu of %zu bytes loaded", len, n);
        assert_true(err.code == BP_EFORMAT);
    }
    free(bytes);
    bp_net_free(net);
}

/* A failed save leaves the previous file as it was, and no temporary file. */
static void test_atomic_save(void **state)
{
    (void)state;
    bp_net *a = tu_net("2,3:relu,1:identity");
    bp_net *b = tu_net("2,3:relu,1:identity");
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    TU_ASSERT_OK(bp_net_init(a, &rng, BP_INIT_HE_NORMAL, 0));
    TU_ASSERT_OK(bp_net_init(b, &rng, BP_INIT_HE_NORMAL, 0));
    const char *path = tu_path("keep.safetensors");
    bp_error err;
    TU_ASSERT_OK(bp_model_save(path, a, NULL, &err));
    size_t n0;
    char *before = tu_read_file(path, &n0);

    /* Allocation failing at each point of a save of another network. */
    tu_counter c;
    for (long k = 1;; k++) {
        tu_counter_install(&c);
        tu_counter_fail_in(&c, k);
        int rc = bp_model_save(path, b, NULL, &err);
        long live = c.live;
        bp_set_allocator(NULL);
        assert_int_equal(live, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, BP_ENOMEM);
        size_t n1;
        char *after = tu_read_file(path, &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
        free(after);
        assert_true(k < 100);
    }

    /* A target that cannot be replaced (a directory) fails and leaves no
     * temporary file behind. */
    char sub[320];
    snprintf(sub, sizeof sub, "%s/adir", tu_dir());
    assert_int_equal(mkdir(sub, 0755), 0);
    int rc = bp_model_save(sub, a, NULL, &err);
    assert_int_equal(rc, BP_EIO);
    assert_non_null(strstr(err.message, sub));
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", tu_dir());
    FILE *p = popen(cmd, "r");
    char out[16] = "";
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    assert_int_equal(atoi(out), 0);
    /* A network holding a non-finite value is not saved, and the previous
     * file stays. */
    size_t n1, n2;
    char *saved = tu_read_file(path, &n1); /* b, from the last successful save */
    bp_net_bias(b, 0)[1] = 0.0f / 0.0f;
    assert_int_equal(bp_model_save(path, b, NULL, &err), BP_ENONFINITE);
    assert_non_null(strstr(err.message, "layers.0.bias value 1 is not finite"));
    char *still = tu_read_file(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(saved, still, n1);
    free(saved);
    free(still);
    /* A directory that does not exist. */
    assert_int_equal(bp_model_save("/nonexistent-dir/m.safetensors", a, NULL, &err), BP_EIO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/m.safetensors"));
    free(before);
    bp_net_free(a);
    bp_net_free(b);
}

/* Every allocation of a load fails in turn: an error each time, no leak. */
static void test_load_alloc_failures(void **state)
{
    (void)state;
    bp_net *net = tu_net("3,4:tanh,2:softmax");
    const char *path = tu_path("alloc.safetensors");
    bp_error err;
    bp_meta *meta = bp_meta_create();
    TU_ASSERT_OK(bp_meta_set(meta, "loss", "cce"));
    TU_ASSERT_OK(bp_model_save(path, net, meta, &err));
    tu_read_each_alloc_failing(bp_model_load, path);
    bp_meta_free(meta);
    bp_net_free(net);
}

/* The scaling kept in metadata reads back bit for bit; bad entries are
 * refused with the field named. */
static void test_scaling_metadata(void **state)
{
    (void)state;
    enum { N = 5 };
    const float shift[N] = {0.0f, 1.0f / 3.0f, -1234.5678f, 1e-30f, 3.4e38f};
    const float mul[N] = {1.0f / 255.0f, 0.1f, 7.0f, 1e30f, -2.5e-7f};
    float s2[N], m2[N];
    bp_meta *meta = bp_meta_create();
    bp_error err;
    assert_int_equal(bp_meta_get_scaling(meta, N, s2, m2, &err), 1); /* absent */
    TU_ASSERT_OK(bp_meta_set_scaling(meta, N, shift, mul));
    TU_ASSERT_OK(bp_meta_get_scaling(meta, N, s2, m2, &err));
    assert_memory_equal(shift, s2, sizeof shift);
    assert_memory_equal(mul, m2, sizeof mul);
    /* Through a saved file too. */
    bp_net *net = tu_net("5,1:identity");
    const char *path = tu_path("scaled.safetensors");
    TU_ASSERT_OK(bp_model_save(path, net, meta, &err));
    bp_meta *back = NULL;
    bp_net *loaded = bp_model_load(path, &back, &err);
    assert_non_null(loaded);
    TU_ASSERT_OK(bp_meta_get_scaling(back, N, s2, m2, &err));
    assert_memory_equal(shift, s2, sizeof shift);
    assert_memory_equal(mul, m2, sizeof mul);
    /* The wrong width, and malformed entries. */
    assert_int_equal(bp_meta_get_scaling(back, 4, s2, m2, &err), BP_EFORMAT);
    assert_non_null(strstr(err.message, "has 5 values, the network has 4 inputs"));
    TU_ASSERT_OK(bp_meta_set(meta, "scaling", "{\"shift\": [1, 2]}"));
    assert_int_equal(bp_meta_get_scaling(meta, 2, s2, m2, &err), BP_EFORMAT);
    assert_non_null(strstr(err.message, "\"mul\" is missing"));
    TU_ASSERT_OK(bp_meta_set(meta, "scaling", "{\"shift\": [1, \"a\"], \"mul\": [1, 1]}"));
    assert_int_equal(bp_meta_get_scaling(meta, 2, s2, m2, &err), BP_EFORMAT);
    assert_non_null(strstr(err.message, "shift[1]"));
    TU_ASSERT_OK(bp_meta_set(meta, "scaling", "[1"));
    assert_int_equal(bp_meta_get_scaling(meta, 2, s2, m2, &err), BP_EFORMAT);
    const float bad[1] = {1.0f / 0.0f};
    assert_int_equal(bp_meta_set_scaling(meta, 1, bad, mul), BP_ENONFINITE);
    bp_meta_free(meta);
    bp_meta_free(back);
    bp_net_free(net);
    bp_net_free(loaded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bits),
        cmocka_unit_test(test_json_form),
        cmocka_unit_test(test_json_form_errors),
        cmocka_unit_test(test_safetensors_errors),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_load_alloc_failures),
        cmocka_unit_test(test_scaling_metadata),
    };
    return cmocka_run_group_tests(tests, setup_dir, tu_dir_remove);
}
