/*
 * cmd_export.c - `backprop export`: a saved model as an ONNX file (for any
 * ONNX runtime) or as one C99 source file with a predict function (for a
 * program of one's own), the model's input scaling included in both. The
 * library writes either file whole or not at all.
 */
#include "cli.h"
#include "paths.h"
#include "model.h"

#include <getopt.h>
#include <string.h>

static const char *const CMD = "export";

enum { FORMAT_NONE, FORMAT_ONNX, FORMAT_C };

static void help(void)
{
    printf("Usage: backprop export --model MODEL --out FILE [--format onnx|c] [OPTIONS]\n"
           "\n"
           "Write a model in a form that runs without backprop, its input scaling\n"
           "included:\n"
           "  onnx  an ONNX model (IR version 7, opset 13): input \"input\" and output\n"
           "        \"output\", float32 of shape [batch, width]; Sub and Mul for the\n"
           "        scaling, then Gemm and the activation's op per layer\n"
           "  c     one C99 source file with no dependency beyond the C library (link\n"
           "        with -lm): the weights as static const float arrays and\n"
           "        void NAME(const float *x, float *y) for one sample\n"
           "\n"
           "Options:\n"
           "  --model MODEL   the model file, safetensors or JSON (required)\n"
           "  --out FILE      the file to write (required)\n"
           "  --format FMT    onnx or c (default: from FILE's extension, .onnx or .c)\n"
           "  --name NAME     c: the predict function's name (default: predict)\n"
           "  -h, --help      show this help\n"
           "\n"
           "backprop info --model FILE.onnx reads an exported ONNX file back.\n"
           "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.\n");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'}, {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *out = NULL, *name = NULL;
    int format = FORMAT_NONE, c, rc, lib;
    cli_model m = {NULL, NULL};
    bp_error err;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "onnx") == 0)
                format = FORMAT_ONNX;
            else if (strcmp(optarg, "c") == 0)
                format = FORMAT_C;
            else
                return cli_usage(CMD, "--format: expected onnx or c, found '%s'", optarg);
            break;
        case 'n':
            name = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (cli_no_operands(CMD, argc, argv))
        return CLI_USAGE;
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

    {
        const cli_file outs[] = {{"--out", out, 0, NULL}};
        const cli_file ins[] = {{"--model", model_path, 0, NULL}};
        if ((rc = cli_paths_check(CMD, outs, 1, ins, 1)) != 0)
            return rc;
    }
    if ((rc = cli_model_load(model_path, &m)) != 0)
        goto done;
    if (format == FORMAT_ONNX)
        lib = bp_onnx_save(out, m.net, m.meta, &err);
    else
        lib = bp_export_c(out, m.net, m.meta, name, &err);
    if (lib != 0) {
        cli_error("%s", err.message);
        rc = lib == BP_EINVAL && format == FORMAT_C && name ? CLI_USAGE : CLI_RUNTIME;
        goto done;
    }
    printf("wrote %s: %s, %d layer%s, %zu parameters\n", out,
           format == FORMAT_ONNX ? "ONNX opset 13" : "C99 source", bp_net_layers(m.net),
           bp_net_layers(m.net) == 1 ? "" : "s", bp_net_param_count(m.net));
    rc = CLI_OK;
done:
    cli_model_free(&m);
    return rc;
}
