/*
 * cmd_info.c - `backprop info`: the layer table of a network spec (shapes,
 * activations, biases, parameter counts and the canonical spec), or without
 * --net the library's version and what it was built with.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char *const CMD = "info";

static void help(void)
{
    printf("Usage: backprop info [--net SPEC] [--json]\n"
           "\n"
           "Describe a network: one line per layer with its shape, activation, bias and\n"
           "parameter count, the total, and the canonical spec. Without --net, print the\n"
           "library's version and build.\n"
           "\n"
           "Options:\n"
           "  --net SPEC     the network, e.g. 784,256:relu,10:softmax (default: none)\n"
           "  --json         print the same as JSON\n"
           "  -h, --help     show this help\n"
           "\n"
           "A spec is the input width, then WIDTH:ACTIVATION[:nobias] per layer.\n"
           "Activations: identity (linear), relu, leaky_relu[=SLOPE], sigmoid, tanh,\n"
           "softmax.\n");
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
    if (json) {
        printf("{\"version\": \"%s\", \"header_version\": \"%s\", \"compiler\": ",
               bp_version(), BP_VERSION_STRING);
        cli_json_string(stdout, compiler());
        printf(", \"c_standard\": %ld", (long)__STDC_VERSION__);
        print_names(1);
        printf("}\n");
        return CLI_OK;
    }
    printf("backprop %s (library %s)\n", BP_VERSION_STRING, bp_version());
    printf("compiler      %s, C standard %ld\n", compiler(), (long)__STDC_VERSION__);
    print_names(0);
    return CLI_OK;
}

static void layer_name(char *buf, size_t size, bp_layer_desc d)
{
    if (d.act == BP_ACT_LEAKY_RELU)
        snprintf(buf, size, "%s=%g", bp_act_name(d.act),
                 (double)(d.slope > 0.0f ? d.slope : BP_LEAKY_SLOPE_DEFAULT));
    else
        snprintf(buf, size, "%s", bp_act_name(d.act));
}

static int print_net(bp_net *net, int json)
{
    char spec[1024], act[64];
    int L = bp_net_layers(net);
    if (bp_net_spec(net, spec, sizeof spec) >= (int)sizeof spec) {
        cli_error("the network's spec is too long to print");
        return CLI_RUNTIME;
    }
    if (json) {
        printf("{\"spec\": ");
        cli_json_string(stdout, spec);
        printf(", \"inputs\": %d, \"outputs\": %d, \"layers\": [", bp_net_inputs(net),
               bp_net_outputs(net));
    } else {
        printf("%5s  %7s  %7s  %-18s  %-4s  %10s\n", "layer", "inputs", "outputs",
               "activation", "bias", "parameters");
    }
    for (int l = 0; l < L; l++) {
        bp_layer_desc d = bp_net_layer(net, l);
        size_t I = (size_t)bp_net_layer_inputs(net, l), O = (size_t)d.width;
        size_t params = O * I + (d.bias ? O : 0);
        layer_name(act, sizeof act, d);
        if (json) {
            printf("%s\n  {\"layer\": %d, \"inputs\": %zu, \"outputs\": %zu, \"activation\": ",
                   l ? "," : "", l, I, O);
            cli_json_string(stdout, act);
            printf(", \"bias\": %s, \"parameters\": %zu}", d.bias ? "true" : "false", params);
        } else {
            printf("%5d  %7zu  %7zu  %-18s  %-4s  %10zu\n", l, I, O, act, d.bias ? "yes" : "no",
                   params);
        }
    }
    if (json)
        printf("\n], \"parameters\": %zu}\n", bp_net_param_count(net));
    else
        printf("\ntotal parameters: %zu\nspec: %s\n", bp_net_param_count(net), spec);
    return CLI_OK;
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"net", required_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *spec = NULL;
    int json = 0, c, rc = CLI_USAGE;
    bp_net *net = NULL;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            spec = optarg;
            break;
        case 'j':
            json = 1;
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
    if (!spec)
        return print_build(json);
    if ((net = cli_parse_net("--net", spec)) != NULL)
        rc = print_net(net, json);
    bp_net_free(net);
    return rc;
}
