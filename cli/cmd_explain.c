/*
 * cmd_explain.c - `backprop explain`: one sample through a small network,
 * forward and backward, with every slope written as the product of its
 * three factors (bp_explain_sample). Weights come from --weights or a
 * seeded He-normal initialisation.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "explain";

/* Sums longer than this are shown by their value only. */
#define MAX_TERMS 4

static void help(void)
{
    printf("Usage: backprop explain --net SPEC --input LIST --target LIST [OPTIONS]\n"
           "\n"
           "Run one sample forward and backward and show every slope of the loss as\n"
           "the product of its three factors.\n"
           "\n"
           "Options:\n"
           "  --net SPEC     the network, e.g. 2,2:relu:nobias,1:relu:nobias (required)\n"
           "  --weights W    every layer's weights: layers separated by '/', rows (one per\n"
           "                 node) by ';', values by ','; e.g. '2,1;1,2/1,1'\n"
           "                 (default: He normal from --seed)\n"
           "  --biases B     biases of the layers that have one: layers by '/', values by\n"
           "                 ',' (default: 0, or from --seed without --weights)\n"
           "  --seed N       seed of the He-normal weights when --weights is not given\n"
           "                 (default: 1)\n"
           "  --input LIST   the sample, comma-separated (required)\n"
           "  --target LIST  its target: one value per output, or one class index for\n"
           "                 cce (required)\n"
           "  --loss NAME    mse, mae, bce or cce (default: cce after softmax, bce after\n"
           "                 sigmoid, else mse)\n"
           "  --json         print every figure as JSON\n"
           "  -h, --help     show this help\n");
}

/* Name of the nodes of layer l's output ("y" for the last layer, "h" for a
 * single hidden layer, "h1", "h2", ... for several); l = -1 is the input. */
static void node_name(char *buf, size_t size, int l, int L)
{
    if (l < 0)
        snprintf(buf, size, "x");
    else if (l == L - 1)
        snprintf(buf, size, "y");
    else if (L == 2)
        snprintf(buf, size, "h");
    else
        snprintf(buf, size, "h%d", l + 1);
}

static int num_width(double v)
{
    char buf[32];
    return snprintf(buf, sizeof buf, "%g", v);
}

/* A factor of a product: negative numbers in parentheses. */
static const char *factor(char *buf, size_t size, double v)
{
    snprintf(buf, size, v < 0 ? "(%g)" : "%g", v);
    return buf;
}

static void print_forward(bp_net *net, const bp_explain *ex, const float *t, int T)
{
    char in[16], out[16];
    const bp_explain_layer *E0 = &ex->layers[0];
    printf("Forward pass\n  input:");
    for (int i = 0; i < E0->inputs; i++)
        printf("  x[%d] = %g", i, E0->input[i]);
    printf("\n");
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        node_name(in, sizeof in, l - 1, ex->n_layers);
        node_name(out, sizeof out, l, ex->n_layers);
        printf("  layer %d (%s, %d node%s)\n", l, bp_act_name(E->act), E->outputs,
               E->outputs == 1 ? "" : "s");
        for (int o = 0; o < E->outputs; o++) {
            printf("    %s[%d] = %s(z = ", out, o, bp_act_name(E->act));
            if (E->inputs <= MAX_TERMS) {
                char f1[32], f2[32];
                for (int i = 0; i < E->inputs; i++)
                    printf("%s%s x %s", i ? " + " : "",
                           factor(f1, sizeof f1,
                                  (double)w[(size_t)o * (size_t)E->inputs + (size_t)i]),
                           factor(f2, sizeof f2, E->input[i]));
                if (b)
                    printf(" + %s", factor(f1, sizeof f1, (double)b[o]));
                printf(" = ");
            }
            printf("%g) = %g\n", E->z[o], E->value[o]);
        }
    }
    printf("  target:");
    for (int k = 0; k < T; k++)
        printf(T == 1 && ex->layers[ex->n_layers - 1].outputs > 1 ? "  class %g" : "  %g",
               (double)t[k]);
    printf("\n");
}

static void print_layer_backward(bp_net *net, const bp_explain *ex, int l)
{
    const bp_explain_layer *E = &ex->layers[l];
    const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
    const char *dname = E->combined ? "dL/dz" : "dL/dnode";
    const int last = l == ex->n_layers - 1;
    char in[16], out[16], label[48], f1[32], f2[32], f3[32];
    int I = E->inputs, O = E->outputs, lw, ww = 1, sw = 1;
    node_name(in, sizeof in, l - 1, ex->n_layers);
    node_name(out, sizeof out, l, ex->n_layers);

    printf("  layer %d (%s%s)\n", l, bp_act_name(E->act), last ? ", output" : "");
    if (E->combined)
        printf("    softmax: each node depends on every z of the layer, so the slope shown is\n"
               "    dL/dz, the loss's slope for the node's input z, and act' is taken as 1\n");
    if (last)
        for (int o = 0; o < O; o++)
            printf("    %s %s[%d] = %g\n", dname, out, o, E->dnode[o]);
    else
        printf("    dL/dnode of each %s[o] is the node slope found above\n", out);
    /* column widths: labels, weights, slopes */
    lw = snprintf(label, sizeof label, "w[%d][%d][%d]", l, O - 1, I - 1);
    for (size_t k = 0; k < (size_t)O * (size_t)I; k++) {
        int a = num_width((double)w[k]), g = num_width(E->grad_w[k]);
        ww = a > ww ? a : ww;
        sw = g > sw ? g : sw;
    }
    for (int o = 0; b && E->grad_b && o < O; o++) {
        int a = num_width((double)b[o]), g = num_width(E->grad_b[o]);
        ww = a > ww ? a : ww;
        sw = g > sw ? g : sw;
    }
    for (int o = 0; o < O; o++) {
        for (int i = 0; i < I; i++) {
            size_t k = (size_t)o * (size_t)I + (size_t)i;
            snprintf(label, sizeof label, "w[%d][%d][%d]", l, o, i);
            printf("    %-*s = %*g   slope %-*g = value %g x %s %g x act' %g\n", lw, label, ww,
                   (double)w[k], sw, E->grad_w[k], E->input[i], dname, E->dnode[o], E->dact[o]);
        }
    }
    for (int o = 0; b && E->grad_b && o < O; o++) {
        snprintf(label, sizeof label, "b[%d][%d]", l, o);
        printf("    %-*s = %*g   slope %-*g = 1 x %s %g x act' %g\n", lw, label, ww,
               (double)b[o], sw, E->grad_b[o], dname, E->dnode[o], E->dact[o]);
    }
    /* The slope of each node feeding this layer: the sum over the weights
     * that leave it. */
    for (int i = 0; i < I; i++) {
        printf("    dL/d %s[%d] = ", in, i);
        if (O <= MAX_TERMS) {
            for (int o = 0; o < O; o++)
                printf("%s%s x %s x %s", o ? " + " : "",
                       factor(f1, sizeof f1, (double)w[(size_t)o * (size_t)I + (size_t)i]),
                       factor(f2, sizeof f2, E->dnode[o]), factor(f3, sizeof f3, E->dact[o]));
            printf(" = ");
        }
        printf("%g\n", E->dinput[i]);
    }
}

static void print_text(bp_net *net, bp_loss loss, const bp_explain *ex, const float *t, int T)
{
    char spec[512];
    bp_net_spec(net, spec, sizeof spec);
    printf("network %s, loss %s, one sample\n\n", spec, bp_loss_name(loss));
    printf("Each weight's slope (dL/dw) is the product of three factors: the value of the\n"
           "node that feeds the weight, the slope of the loss with respect to the node the\n"
           "weight feeds (dL/dnode), and the slope of that node's activation at its input\n"
           "(act'). A node's own slope is the sum, over the weights that leave it, of\n"
           "weight x dL/dnode x act' of the node each one feeds.\n\n");
    print_forward(net, ex, t, T);
    printf("  loss: %s = %g\n\nBackward pass, from the output back\n", bp_loss_name(loss),
           ex->loss);
    for (int l = ex->n_layers - 1; l >= 0; l--)
        print_layer_backward(net, ex, l);
}

static void print_json(bp_net *net, bp_loss loss, const bp_explain *ex, const float *t, int T)
{
    char spec[512];
    bp_net_spec(net, spec, sizeof spec);
    printf("{\"net\": ");
    cli_json_string(stdout, spec);
    printf(", \"loss\": \"%s\", \"target\": ", bp_loss_name(loss));
    cli_json_farray(stdout, t, T);
    printf(", \"loss_value\": ");
    cli_json_number(stdout, ex->loss);
    printf(", \"layers\": [");
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        int I = E->inputs, O = E->outputs;
        printf("%s\n  {\"layer\": %d, \"activation\": \"%s\", \"combined\": %s,\n   \"input\": ",
               l ? "," : "", l, bp_act_name(E->act), E->combined ? "true" : "false");
        cli_json_array(stdout, E->input, I);
        printf(", \"z\": ");
        cli_json_array(stdout, E->z, O);
        printf(", \"value\": ");
        cli_json_array(stdout, E->value, O);
        printf(",\n   \"dnode\": ");
        cli_json_array(stdout, E->dnode, O);
        printf(", \"dact\": ");
        cli_json_array(stdout, E->dact, O);
        printf(",\n   \"weights\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            cli_json_farray(stdout, w + (size_t)o * (size_t)I, I);
        }
        printf("], \"grad_w\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            cli_json_array(stdout, E->grad_w + (size_t)o * (size_t)I, I);
        }
        printf("],\n   \"bias\": ");
        if (b)
            cli_json_farray(stdout, b, O);
        else
            printf("null");
        printf(", \"grad_b\": ");
        if (E->grad_b)
            cli_json_array(stdout, E->grad_b, O);
        else
            printf("null");
        printf(", \"dinput\": ");
        cli_json_array(stdout, E->dinput, I);
        printf("}");
    }
    printf("\n]}\n");
}

/* Targets from --target: one value per output, or one class index for cce
 * with several outputs. */
static int read_targets(const char *s, bp_net *net, bp_loss loss, float **t, int *T)
{
    double *v = NULL;
    int n, rc, O = bp_net_outputs(net);
    if ((rc = cli_parse_list("--target", s, &v, &n)) != 0)
        return rc;
    rc = CLI_USAGE;
    if (loss == BP_LOSS_CCE && O > 1 && n == 1) {
        if (!(v[0] >= 0 && v[0] < O && v[0] == (double)(int)v[0])) {
            cli_error("--target: expected a class index from 0 to %d, got '%s'", O - 1, s);
            goto done;
        }
    } else if (n != O) {
        cli_error("--target: expected %d value%s (one per output%s), got %d in '%s'", O,
                  O == 1 ? "" : "s", loss == BP_LOSS_CCE ? ", or one class index" : "", n, s);
        goto done;
    }
    if (!(*t = malloc((size_t)n * sizeof **t))) {
        cli_error("out of memory");
        rc = CLI_RUNTIME;
        goto done;
    }
    for (int k = 0; k < n; k++)
        (*t)[k] = (float)v[k];
    *T = n;
    rc = 0;
done:
    free(v);
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"net", required_argument, NULL, 'n'},    {"weights", required_argument, NULL, 'w'},
        {"biases", required_argument, NULL, 'b'}, {"seed", required_argument, NULL, 's'},
        {"input", required_argument, NULL, 'i'},  {"target", required_argument, NULL, 't'},
        {"loss", required_argument, NULL, 'L'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *spec = NULL, *weights = NULL, *biases = NULL, *input = NULL, *target = NULL;
    const char *loss_name = NULL;
    uint64_t seed = 1;
    int json = 0, c, rc = CLI_USAGE, n_in = 0, T = 0;
    bp_net *net = NULL;
    bp_loss loss;
    double *xd = NULL;
    float *x = NULL, *t = NULL;
    bp_explain *ex = NULL;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            spec = optarg;
            break;
        case 'w':
            weights = optarg;
            break;
        case 'b':
            biases = optarg;
            break;
        case 's':
            if (cli_parse_seed("--seed", optarg, &seed))
                goto done;
            break;
        case 'i':
            input = optarg;
            break;
        case 't':
            target = optarg;
            break;
        case 'L':
            loss_name = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            help();
            rc = CLI_OK;
            goto done;
        default:
            rc = cli_bad_option(CMD, c, argv);
            goto done;
        }
    }
    if (cli_no_operands(CMD, argc, argv))
        goto done;
    if (!spec || !input || !target) {
        rc = cli_usage(CMD, "%s is required", !spec ? "--net" : !input ? "--input" : "--target");
        goto done;
    }
    if (!(net = cli_parse_net("--net", spec)))
        goto done;
    if (cli_parse_loss("--loss", loss_name, net, &loss))
        goto done;
    if (weights) {
        if ((rc = cli_parse_weights("--weights", weights, net)) != 0)
            goto done;
    } else {
        bp_rng rng;
        bp_rng_seed(&rng, seed);
        int lib_rc = bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0);
        if (lib_rc != 0) {
            rc = cli_lib_error("initialising the network", lib_rc, net);
            goto done;
        }
    }
    if (biases && (rc = cli_parse_biases("--biases", biases, net)) != 0)
        goto done;
    if ((rc = cli_parse_list("--input", input, &xd, &n_in)) != 0)
        goto done;
    rc = CLI_USAGE;
    if (n_in != bp_net_inputs(net)) {
        cli_error("--input: expected %d value%s (the network's inputs), got %d in '%s'",
                  bp_net_inputs(net), bp_net_inputs(net) == 1 ? "" : "s", n_in, input);
        goto done;
    }
    if ((rc = read_targets(target, net, loss, &t, &T)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(x = malloc((size_t)n_in * sizeof *x))) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        x[i] = (float)xd[i];
    int lib_rc = bp_explain_sample(net, loss, x, t, T, &ex);
    if (lib_rc != 0) {
        rc = cli_lib_error("explain", lib_rc, net);
        goto done;
    }
    if (json)
        print_json(net, loss, ex, t, T);
    else
        print_text(net, loss, ex, t, T);
    rc = CLI_OK;
done:
    bp_explain_free(ex);
    bp_net_free(net);
    free(xd);
    free(x);
    free(t);
    return rc;
}
