/*
 * cmd_info.c - `backprop info`: the layer table of a network spec or of a
 * model file (spec entries, output shapes, parameter counts and the
 * canonical spec; for a model also every metadata entry), or without either
 * the library's version and what it was built with (and whether bf16
 * products can run here). An ONNX file exported
 * by backprop is read back into a network (bp_onnx_load), so its table can
 * be checked against the model it came from; its graph is described too.
 */
#include "cli.h"
#include "model.h"

#include <string.h>

static const char *const CMD = "info";

/* Metadata values longer than this many characters are shortened in the
 * text form. */
#define META_SHOWN 60 /* as HELP says */

static const cli_help HELP = {
    "info", "backprop info [--net SPEC | --model MODEL] [--json]",
    "Describe a network: the input's shape, then one line per layer with its\n"
    "entry of the spec, the shape of its output (CxHxW, or a width) and its\n"
    "parameter count, the total, and the canonical spec; for a model file also\n"
    "its metadata, every key and value (values longer than 60 characters are\n"
    "shortened in the text form, never in JSON). Without --net or --model, print\n"
    "the library's version and build, with the precisions train --precision can\n"
    "take here (bf16 needs the oneDNN build and avx512_bf16 or amx_bf16; when it\n"
    "cannot run, why).",
    "A spec is the input's shape (a width, or CxHxW), then one entry per layer:\n"
    "WIDTH[:ACTIVATION][:nobias] (dense),\n"
    "conv:OUT:K[:ACTIVATION][:same|:pad=P][:stride=S][:nobias],\n"
    "maxpool:K[:stride=S] or avgpool:K[:stride=S].\n"
    "Activations: identity (linear), relu, leaky_relu[=SLOPE], sigmoid, tanh,\n"
    "softmax.",
    "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop info --net 784,256:relu,128:relu,10:softmax\n"
    "  backprop info --net 1x28x28,conv:32:3:relu:same,maxpool:2,128:relu,10:softmax\n"
    "  backprop info --model examples/lesson.json --json\n"
    "  backprop info\n"};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static const char *compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

/* One list of names: `"key": ["a", "b"]` or `key:  a b`. */
static void print_list(const char *key, const char *const *names, int n, int json)
{
    if (json) {
        printf(", \"%s\": [", key);
        for (int i = 0; i < n; i++) {
            fputs(i ? ", " : "", stdout);
            cli_json_string(stdout, names[i]);
        }
        fputs("]", stdout);
    } else {
        printf("%-13s", key);
        for (int i = 0; i < n; i++)
            printf(" %s", names[i]);
        fputs("\n", stdout);
    }
}

/* The names the library knows: activations, losses and optimizers. */
static void print_names(int json)
{
    const char *names[16];
    int n = 0;
    for (int a = 0; n < 16 && bp_act_name((bp_act)a); a++)
        names[n++] = bp_act_name((bp_act)a);
    print_list("activations", names, n, json);
    n = 0;
    for (int l = BP_LOSS_MSE; l <= BP_LOSS_CCE; l++)
        names[n++] = bp_loss_name((bp_loss)l);
    print_list("losses", names, n, json);
    n = 0;
    for (int o = BP_OPTIM_GD; o <= BP_OPTIM_RANDOM; o++)
        names[n++] = bp_optim_name((bp_optim_kind)o);
    print_list("optimizers", names, n, json);
}

static int print_build(int json)
{
    bp_error why;
    const int bf16 = bp_bf16_check(&why); /* which precisions train can take here */
    if (json) {
        printf("{\"version\": \"%s\", \"header_version\": \"%s\", \"compiler\": ",
               bp_version(), BP_VERSION_STRING);
        cli_json_string(stdout, compiler());
        printf(", \"c_standard\": %ld, \"gemm\": \"%s\", \"threads\": %d",
               (long)__STDC_VERSION__, bp_gemm_backend(), bp_threads());
        if (bf16 == 0) {
            printf(", \"precisions\": [\"fp32\", \"bf16\"]");
        } else {
            printf(", \"precisions\": [\"fp32\"], \"bf16\": ");
            cli_json_string(stdout, why.message);
        }
        print_names(1);
        printf("}\n");
        return CLI_OK;
    }
    printf("backprop %s (library %s)\n", BP_VERSION_STRING, bp_version());
    printf("compiler      %s, C standard %ld\n", compiler(), (long)__STDC_VERSION__);
    printf("matrix        %s, %d thread%s\n", bp_gemm_backend(), bp_threads(),
           bp_threads() == 1 ? "" : "s");
    if (bf16 == 0)
        printf("precisions    fp32 bf16\n");
    else
        printf("precisions    fp32 (bf16: %s)\n", why.message);
    print_names(0);
    return CLI_OK;
}

/* Number of characters (UTF-8 code points) in the first `bytes` bytes of s. */
static size_t utf8_chars(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t k = 0; k < bytes; k++)
        n += ((unsigned char)s[k] & 0xC0) != 0x80;
    return n;
}

/* Bytes in the first `chars` characters of s (all of s when shorter). */
static size_t utf8_prefix(const char *s, size_t chars)
{
    size_t k = 0;
    for (size_t n = 0; s[k] && n < chars; n++)
        do
            k++;
        while (((unsigned char)s[k] & 0xC0) == 0x80);
    return k;
}

/* len bytes of s on one line: control characters escaped as in JSON. */
static void print_escaped(const char *s, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
}

/* The metadata, one "key  value" line each; a value longer than META_SHOWN
 * characters is cut there and followed by "... (N characters)". */
static void print_meta_text(const bp_meta *meta)
{
    int n = bp_meta_count(meta), kw = 0;
    for (int i = 0; i < n; i++) {
        int w = (int)utf8_chars(bp_meta_key(meta, i), strlen(bp_meta_key(meta, i)));
        kw = w > kw ? w : kw;
    }
    printf("\nmetadata: %d entr%s\n", n, n == 1 ? "y" : "ies");
    for (int i = 0; i < n; i++) {
        const char *key = bp_meta_key(meta, i), *value = bp_meta_value(meta, i);
        size_t bytes = strlen(value), chars = utf8_chars(value, bytes);
        int pad = kw - (int)utf8_chars(key, strlen(key));
        printf("  ");
        print_escaped(key, strlen(key));
        printf("%*s  ", pad, "");
        if (chars <= META_SHOWN) {
            print_escaped(value, bytes);
        } else {
            print_escaped(value, utf8_prefix(value, META_SHOWN));
            printf("... (%zu characters)", chars);
        }
        printf("\n");
    }
}

/* The metadata as a JSON object of strings, in their order, in full. */
static void print_meta_json(const bp_meta *meta)
{
    int n = bp_meta_count(meta);
    printf(", \"metadata\": {");
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : "", stdout);
        cli_json_string(stdout, bp_meta_key(meta, i));
        fputs(": ", stdout);
        cli_json_string(stdout, bp_meta_value(meta, i));
    }
    printf("}");
}

/* What an ONNX file holds besides its layers, as text lines or as JSON
 * members. */
static void print_onnx(const bp_onnx_info *x, bp_shape in, int O, int json)
{
    if (json) {
        printf("\"format\": \"onnx\", \"onnx\": {\"ir_version\": %lld, \"opset\": %lld, "
               "\"producer\": ", (long long)x->ir_version, (long long)x->opset);
        cli_json_string(stdout, x->producer);
        printf(", \"graph\": ");
        cli_json_string(stdout, x->graph);
        printf(", \"input\": ");
        cli_json_string(stdout, x->input);
        printf(", \"output\": ");
        cli_json_string(stdout, x->output);
        printf(", \"batch\": ");
        cli_json_string(stdout, x->batch);
        printf(", \"nodes\": %d, \"initializers\": %d, \"ops\": ", x->nodes, x->initializers);
        cli_json_string(stdout, x->ops);
        printf("}, ");
        return;
    }
    printf("format: ONNX, IR version %lld, opset %lld, producer %s\n", (long long)x->ir_version,
           (long long)x->opset, x->producer[0] ? x->producer : "(none)");
    printf("graph:  %s, %d node%s, %d initializer%s: %s\n", x->graph[0] ? x->graph : "(unnamed)",
           x->nodes, x->nodes == 1 ? "" : "s", x->initializers, x->initializers == 1 ? "" : "s",
           x->ops);
    printf("input:  %s float32 [%s, %d", x->input, x->batch[0] ? x->batch : "?", in.c);
    if (in.h)
        printf(", %d, %d", in.h, in.w);
    printf("]\n");
    printf("output: %s float32 [%s, %d]\n\n", x->output, x->batch[0] ? x->batch : "?", O);
}

/* The layer table of net; for a model (path not NULL) also its metadata,
 * and for an ONNX file (onnx not NULL) its graph. */
static int print_net(bp_net *net, const char *path, const bp_meta *meta,
                     const bp_onnx_info *onnx, int json)
{
    char spec[4096], in[64];
    int L = bp_net_layers(net);
    if (json) {
        printf("{");
        if (path) {
            printf("\"model\": ");
            cli_json_string(stdout, path);
            printf(", ");
        }
        if (onnx)
            print_onnx(onnx, bp_net_input_shape(net), bp_net_outputs(net), 1);
        cli_json_net_members(stdout, net);
        if (path)
            print_meta_json(meta);
        printf("}\n");
        return CLI_OK;
    }
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec) {
        cli_error("the network's spec is too long to print");
        return CLI_RUNTIME;
    }
    if (path)
        printf("model: %s\n%s", path, onnx ? "" : "\n");
    if (onnx)
        print_onnx(onnx, bp_net_input_shape(net), bp_net_outputs(net), 0);
    /* the column of entries as wide as the longest */
    int ew = 5;
    for (int l = 0; l < L; l++) {
        char entry[256];
        if (cli_spec_entry(net, l, entry, sizeof entry) == 0 && (int)strlen(entry) > ew)
            ew = (int)strlen(entry);
    }
    printf("%5s  %-*s  %-12s  %10s\n", "layer", ew, "entry", "output", "parameters");
    printf("%5s  %-*s  %s\n", "input", ew, "", cli_shape(in, sizeof in, bp_net_input_shape(net)));
    for (int l = 0; l < L; l++) {
        char entry[256], shape[64];
        if (cli_spec_entry(net, l, entry, sizeof entry) != 0)
            snprintf(entry, sizeof entry, "?");
        printf("%5d  %-*s  %-12s  %10zu\n", l, ew, entry,
               cli_shape(shape, sizeof shape, bp_net_layer_shape(net, l)),
               bp_net_layer_params(net, l));
    }
    double mean, scale;
    char m[32], sc[32];
    printf("\ntotal parameters: %zu\nspec: %s\n", bp_net_param_count(net), spec);
    if (path && bp_meta_get_target_scaling(meta, &mean, &scale, NULL) == 0)
        printf("target: standardized; in its units, output * %s + %s\n", cli_num(sc, scale),
               cli_num(m, mean));
    if (path)
        print_meta_text(meta);
    return CLI_OK;
}

int cmd_info(int argc, char **argv)
{
    const char *spec = NULL, *model_path = NULL;
    int json = 0, rc = CLI_USAGE;
    bp_net *net = NULL;
    cli_model m;
    const cli_opt opts[] = {
        {"net", CLI_OPT_STRING, "SPEC", &spec,
         .help = "the network, e.g. 784,256:relu,10:softmax; with --model, the model's "
                 "network, for a file without one (a PyTorch nn.Sequential state dict)",
         .def = "none"},
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "a model file, safetensors or JSON, or an ONNX file that backprop export wrote "
                 "(a name ending in .onnx)",
         .def = "none"},
        {"json", CLI_OPT_FLAG, NULL, &json, .help = "print the same as JSON"},
        {0}};

    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    rc = CLI_USAGE;
    if (spec && model_path && ends_with(model_path, ".onnx"))
        return cli_usage(CMD, "--net applies to a safetensors or JSON --model, not ONNX");
    if (model_path && ends_with(model_path, ".onnx")) {
        bp_onnx_info onnx;
        bp_error err;
        bp_meta *meta = NULL;
        if (!(net = bp_onnx_load(model_path, &meta, &onnx, &err))) {
            cli_error("%s", err.message);
            return CLI_RUNTIME;
        }
        rc = print_net(net, model_path, meta, &onnx, json);
        bp_net_free(net);
        bp_meta_free(meta);
        return rc;
    }
    if (model_path) {
        if ((rc = cli_model_load_spec(model_path, spec, &m)) == CLI_OK)
            rc = print_net(m.net, model_path, m.meta, NULL, json);
        cli_model_free(&m);
        return rc;
    }
    if (!spec)
        return print_build(json);
    if ((net = cli_parse_net("--net", spec)) != NULL)
        rc = print_net(net, NULL, NULL, NULL, json);
    bp_net_free(net);
    return rc;
}
