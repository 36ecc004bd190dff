/*
 * cmd_export.c - `backprop export`: a saved model as an ONNX file (for any
 * ONNX runtime) or as one C99 source file with a predict function (for a
 * program of one's own), the model's input scaling included in both. The
 * library writes either file whole or not at all.
 */
#include "cli.h"
#include "paths.h"
#include "model.h"

#include <string.h>
#include <sys/stat.h>

static const char *const CMD = "export";

enum { FORMAT_ONNX, FORMAT_C, FORMAT_NONE };

static const char *const FORMATS[] = {"onnx", "c", NULL};

static const cli_help HELP = {
    "export", "backprop export --model MODEL --out FILE [--format onnx|c] [OPTIONS]",
    "Write a model in a form that runs without backprop, its input scaling\n"
    "included, and for a regression its target's scaling, so that it predicts\n"
    "in the target's units:\n"
    "  onnx  an ONNX model (IR version 7, opset 13): input \"input\", float32\n"
    "        [batch, width] or [batch, C, H, W] for images, and output \"output\",\n"
    "        [batch, width]; Sub and Mul for the scaling, then per layer Gemm,\n"
    "        Conv, MaxPool, AveragePool or BatchNormalization (a Flatten where\n"
    "        an image turns flat) and the activation's op, then Mul and Add for\n"
    "        the target's scale and mean; dropout writes no node\n"
    "  c     one C99 source file with no dependency beyond the C library (link\n"
    "        with -lm): the weights as static const float arrays and\n"
    "        void NAME(const float *x, float *y) for one sample; a batch norm\n"
    "        folds into the conv or dense layer before it when that layer has\n"
    "        no activation (--no-fold-bn keeps it a pass of its own)",
    "backprop info --model FILE.onnx reads an exported ONNX file back.",
    "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop export --model spiral.safetensors --out spiral.onnx\n"
    "  backprop export --model spiral.safetensors --out spiral.c --name spiral_predict\n"
    "  backprop export --model spiral.safetensors --out spiral.c --no-fold-bn\n"
    "  backprop export --model examples/lesson.json --out lesson.onnx --json\n"};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int cmd_export(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *name = NULL, *spec = NULL;
    int format = FORMAT_NONE, json = 0, fold_bn = 0, no_fold_bn = 0, rc, lib;
    cli_model m = {NULL, NULL};
    bp_error err;

    const cli_opt opts[] = {
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "the model file, safetensors or JSON (required)"},
        CLI_MODEL_NET_OPTION(&spec),
        {"out", CLI_OPT_STRING, "FILE", &out, .help = "the file to write (required)"},
        {"format", CLI_OPT_CHOICE, "FMT", &format, .help = "onnx or c", .choices = FORMATS,
         .def = "from FILE's extension, .onnx or .c"},
        {"name", CLI_OPT_STRING, "NAME", &name, .help = "c: the predict function's name",
         .def = "predict"},
        {"fold-bn", CLI_OPT_FLAG, NULL, &fold_bn,
         .help = "c: fold each batch norm into the conv or dense layer before it where "
                 "that layer has no activation (outputs differ from predict's by rounding)",
         .def = "on"},
        {"no-fold-bn", CLI_OPT_FLAG, NULL, &no_fold_bn,
         .help = "c: write each batch norm as a pass of its own, as predict computes it",
         .def = "off"},
        {"json", CLI_OPT_FLAG, NULL, &json,
         .help = "print {\"path\": ..., \"format\": ..., \"bytes\": ..., \"inputs\": ..., "
                 "\"outputs\": ..., \"layers\": ..., \"parameters\": ...}",
         .def = "off"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!model_path)
        return cli_usage(CMD, "--model is required");
    if (!out || !out[0])
        return cli_usage(CMD, "--out is required");
    if (format == FORMAT_NONE)
        format = ends_with(out, ".onnx") ? FORMAT_ONNX : ends_with(out, ".c") ? FORMAT_C
                                                                             : FORMAT_NONE;
    if (format == FORMAT_NONE)
        return cli_usage(CMD, "--format is needed: '%s' ends in neither .onnx nor .c", out);
    if (name && format != FORMAT_C)
        return cli_usage(CMD, "--name applies to --format c only");
    if ((fold_bn || no_fold_bn) && format != FORMAT_C)
        return cli_usage(CMD, "--%s applies to --format c only",
                         fold_bn ? "fold-bn" : "no-fold-bn");
    if (fold_bn && no_fold_bn)
        return cli_usage(CMD, "--fold-bn and --no-fold-bn contradict each other");

    {
        const cli_file outs[] = {{"--out", out, 0, NULL}};
        const cli_file ins[] = {{"--model", model_path, 0, NULL}};
        if ((rc = cli_paths_check(CMD, outs, 1, ins, 1)) != 0)
            return rc;
    }
    if ((rc = cli_model_load_spec(model_path, spec, &m)) != 0)
        goto done;
    if (format == FORMAT_ONNX)
        lib = bp_onnx_save(out, m.net, m.meta, &err);
    else {
        bp_export_c_opts o;
        bp_export_c_opts_defaults(&o);
        o.name = name;
        o.fold_bn = !no_fold_bn;
        lib = bp_export_c_with(out, m.net, m.meta, &o, &err);
    }
    if (lib != 0) {
        cli_error("%s", err.message);
        rc = lib == BP_EINVAL && format == FORMAT_C && name ? CLI_USAGE : CLI_RUNTIME;
        goto done;
    }
    if (json) {
        struct stat st;
        printf("{\"path\": ");
        cli_json_string(stdout, out);
        printf(", \"format\": \"%s\", \"bytes\": %lld, \"inputs\": %d, \"outputs\": %d, "
               "\"layers\": %d, \"parameters\": %zu}\n",
               FORMATS[format], stat(out, &st) == 0 ? (long long)st.st_size : -1LL,
               bp_net_inputs(m.net), bp_net_outputs(m.net), bp_net_layers(m.net),
               bp_net_param_count(m.net));
    } else {
        printf("wrote %s: %s, %d layer%s, %zu parameters\n", out,
               format == FORMAT_ONNX ? "ONNX opset 13" : "C99 source", bp_net_layers(m.net),
               bp_net_layers(m.net) == 1 ? "" : "s", bp_net_param_count(m.net));
    }
    rc = CLI_OK;
done:
    cli_model_free(&m);
    return rc;
}
