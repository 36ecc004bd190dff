/*
 * model.c - loading a model file of either form: safetensors, or the JSON
 * form for hand-written networks, told apart by the first non-blank byte
 * ('{' or '[' starts the JSON form). The JSON form is
 *   {"net": SPEC, "weights": [layer][O][I], "biases": [layer][O] (optional),
 *    "metadata": {string: string} (optional)}
 * and every list must match the spec's shapes exactly. A spec given by the
 * caller must agree with the file's; it is what reads a safetensors state
 * dict that has none (see safetensors.c).
 */
#include "io/file.h"
#include "io/io.h"
#include "internal.h"

#include <math.h>
#include <string.h>

bp_net *bp_model_load(const char *path, bp_meta **meta, bp_error *err)
{
    return bp_model_load_spec(path, NULL, meta, err);
}

bp_net *bp_model_load_spec(const char *path, const char *spec, bp_meta **meta, bp_error *err)
{
    char *data = NULL;
    size_t len = 0;
    bp_net *net = NULL;
    if (meta)
        *meta = NULL;
    if (!path) {
        bp__error_set(err, BP_EINVAL, "no model file given");
        return NULL;
    }
    if (bp__read_file(path, BP__MODEL_MAX_BYTES, &data, &len, err) != 0)
        return NULL;
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
        i++;
    if (len == 0)
        bp__error_set(err, BP_EFORMAT, "%s: empty file, expected a safetensors or JSON model", path);
    else if (i < len && (data[i] == '{' || data[i] == '['))
        net = bp__model_json_load(path, data, len, meta, err);
    else
        net = bp__safetensors_load_spec(path, data, len, spec, meta, err);
    bp__free(data);
    if (net && spec) { /* the JSON form always holds its own spec */
        char own[8192];
        if (bp_net_spec(net, own, sizeof own) >= (int)sizeof own ||
            bp__spec_agree(path, spec, own, err) != 0) {
            bp_net_free(net);
            net = NULL;
            if (meta) {
                bp_meta_free(*meta);
                *meta = NULL;
            }
        }
    }
    return net;
}

/* Copy a JSON list of n numbers into out; `what` names it in errors. */
static int number_list(const char *path, const char *what, const bp__json *j, size_t n,
                       float *out, bp_error *err)
{
    if (!j || j->type != BP__JSON_ARRAY)
        return bp__error_set(err, BP_EFORMAT, "%s: %s is %s, expected a list of %zu numbers", path,
                             what, j ? bp__json_type_name(j->type) : "missing", n);
    if (j->n != n)
        return bp__error_set(err, BP_EFORMAT, "%s: %s has %zu values, expected %zu", path, what, j->n, n);
    for (size_t k = 0; k < n; k++) {
        const bp__json *v = &j->items[k];
        if (v->type != BP__JSON_NUMBER || !isfinite((float)v->number))
            return bp__error_set(err, BP_EFORMAT, "%s: %s[%zu] is %s, expected a finite number", path,
                                 what, k, v->type == BP__JSON_NUMBER ? "out of float range"
                                                                    : bp__json_type_name(v->type));
        out[k] = (float)v->number;
    }
    return 0;
}

static int layer_list(const char *path, const char *what, const bp__json *j, int n_layers,
                      bp_error *err)
{
    if (!j || j->type != BP__JSON_ARRAY)
        return bp__error_set(err, BP_EFORMAT, "%s: \"%s\" is %s, expected a list with one entry per layer",
                             path, what, j ? bp__json_type_name(j->type) : "missing");
    if (j->n != (size_t)n_layers)
        return bp__error_set(err, BP_EFORMAT, "%s: \"%s\" has %zu layers, the spec has %d", path, what,
                             j->n, n_layers);
    return 0;
}

bp_net *bp__model_json_load(const char *path, const char *data, size_t len,
                            bp_meta **meta_out, bp_error *err)
{
    static const char *const allowed[] = {"net", "weights", "biases", "metadata"};
    char msg[200], what[64];
    int code;
    bp__json *root = bp__json_parse(data, len, msg, sizeof msg, &code);
    bp_net *net = NULL;
    bp_meta *meta = NULL;
    bp_error serr;
    if (!root) {
        bp__error_set(err, code, "%s: %s", path, msg);
        return NULL;
    }
    if (root->type != BP__JSON_OBJECT) {
        bp__error_set(err, BP_EFORMAT, "%s: expected a JSON object", path);
        goto fail;
    }
    for (size_t i = 0; i < root->n; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
            ok |= strcmp(root->keys[i], allowed[k]) == 0;
        if (!ok) {
            bp__error_set(err, BP_EFORMAT,
                          "%s: unknown field \"%s\" (expected net, weights, biases, metadata)", path,
                          root->keys[i]);
            goto fail;
        }
    }
    const bp__json *spec = bp__json_get(root, "net");
    if (!spec || spec->type != BP__JSON_STRING) {
        bp__error_set(err, BP_EFORMAT, "%s: \"net\" is %s, expected the network spec as a string", path,
                      spec ? bp__json_type_name(spec->type) : "missing");
        goto fail;
    }
    if (!(net = bp_net_parse(spec->string, &serr))) {
        bp__error_set(err, serr.code == BP_ENOMEM ? BP_ENOMEM : BP_EFORMAT, "%s: \"net\": %s", path,
                      serr.message);
        goto fail;
    }
    if (bp__net_dense_only(net, "the JSON model form", &serr) != 0) {
        bp__error_set(err, BP_EFORMAT, "%s: \"net\": %s", path, serr.message);
        goto fail;
    }
    int n_layers = bp_net_layers(net);
    const bp__json *w = bp__json_get(root, "weights"), *b = bp__json_get(root, "biases");
    if (layer_list(path, "weights", w, n_layers, err) != 0 ||
        (b && layer_list(path, "biases", b, n_layers, err) != 0))
        goto fail;
    for (int l = 0; l < n_layers; l++) {
        const bp__layer *L = bp__net_layer(net, l);
        const bp__json *rows = &w->items[l];
        if (rows->type != BP__JSON_ARRAY || rows->n != (size_t)L->O) {
            bp__error_set(err, BP_EFORMAT, "%s: weights[%d] has %zu rows, expected %d (one per output of layer %d)",
                          path, l, rows->type == BP__JSON_ARRAY ? rows->n : 0, L->O, l);
            goto fail;
        }
        for (int o = 0; o < L->O; o++) {
            snprintf(what, sizeof what, "weights[%d][%d]", l, o);
            if (number_list(path, what, &rows->items[o], (size_t)L->I,
                            bp_net_weight(net, l) + (size_t)o * (size_t)L->I, err) != 0)
                goto fail;
        }
        if (b) {
            const bp__json *bl = &b->items[l];
            snprintf(what, sizeof what, "biases[%d]", l);
            if (!L->bias) {
                if (bl->type == BP__JSON_ARRAY && bl->n == 0)
                    continue;
                bp__error_set(err, BP_EFORMAT, "%s: %s given, but layer %d has no bias (use [])", path, what, l);
                goto fail;
            }
            if (number_list(path, what, bl, (size_t)L->O, bp_net_bias(net, l), err) != 0)
                goto fail;
        }
    }
    if (bp__meta_from_json(path, "metadata", bp__json_get(root, "metadata"), &meta, err) != 0)
        goto fail;
    if (bp_meta_set(meta, "net", spec->string) != 0) {
        bp__error_set(err, BP_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    bp__json_free(root);
    if (meta_out)
        *meta_out = meta;
    else
        bp_meta_free(meta);
    return net;
fail:
    bp__json_free(root);
    bp_meta_free(meta);
    bp_net_free(net);
    return NULL;
}
