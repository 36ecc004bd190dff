/*
 * cmd_gradcheck.c - `backprop gradcheck`: backpropagation's gradient of a
 * randomly initialised network against central finite differences, layer
 * by layer (bp_gradcheck). Exits 1 when any layer exceeds the tolerance.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "gradcheck";

static void help(void)
{
    printf("Usage: backprop gradcheck --net SPEC [OPTIONS]\n"
           "\n"
           "Compare every gradient entry from backpropagation with a central finite\n"
           "difference of the loss, on random inputs and targets, and report the\n"
           "largest relative error of each layer.\n"
           "\n"
           "Options:\n"
           "  --net SPEC     the network, e.g. 2,3:relu,3:softmax (required)\n"
           "  --loss NAME    mse, mae, bce or cce (default: cce after softmax, bce after\n"
           "                 sigmoid, else mse)\n"
           "  --batch N      random samples (default: 4)\n"
           "  --seed N       seed for weights (Xavier normal), inputs N(0,1) and targets\n"
           "                 (default: 1)\n"
           "  --eps X        finite-difference step, relative to max(1, |w|) (default: 1e-6)\n"
           "  --tol X        largest relative error that passes (default: 1e-3)\n"
           "  --json         print the report as JSON\n"
           "  -h, --help     show this help\n"
           "\n"
           "Exit status: 0 when every layer passes, 1 when one fails, 2 on bad usage.\n");
}

/* "w[l][o][i]" or "b[l][o]" for entry j of layer l's block. */
static void entry_name(char *buf, size_t size, bp_net *net, int l, size_t j)
{
    size_t I = (size_t)bp_net_layer_inputs(net, l), O = (size_t)bp_net_layer(net, l).width;
    if (j < O * I)
        snprintf(buf, size, "w[%d][%zu][%zu]", l, j / I, j % I);
    else
        snprintf(buf, size, "b[%d][%zu]", l, j - O * I);
}

/* Targets of the kind the loss expects; returns the columns per row. */
static int random_targets(bp_rng *rng, bp_loss loss, int B, int O, float *t)
{
    if (loss == BP_LOSS_CCE && O > 1) {
        for (int b = 0; b < B; b++)
            t[b] = (float)bp_rng_below(rng, (uint64_t)O);
        return 1;
    }
    for (size_t k = 0; k < (size_t)B * (size_t)O; k++) {
        if (loss == BP_LOSS_BCE || loss == BP_LOSS_CCE)
            t[k] = (float)(0.01 + 0.98 * bp_rng_uniform(rng)); /* inside (0, 1) */
        else
            t[k] = (float)bp_rng_normal(rng);
    }
    return O;
}

int cmd_gradcheck(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"net", required_argument, NULL, 'n'},  {"loss", required_argument, NULL, 'L'},
        {"batch", required_argument, NULL, 'b'}, {"seed", required_argument, NULL, 's'},
        {"eps", required_argument, NULL, 'e'},  {"tol", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *spec = NULL, *loss_name = NULL;
    long batch = 4;
    uint64_t seed = 1;
    double eps = 1e-6, tol = 1e-3, worst = 0.0;
    int json = 0, c, rc = CLI_USAGE, failed = 0;
    bp_net *net = NULL;
    bp_loss loss;
    bp_rng rng;
    float *x = NULL, *t = NULL;
    bp_gradcheck_layer *report = NULL;
    char spec_buf[512];

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            spec = optarg;
            break;
        case 'L':
            loss_name = optarg;
            break;
        case 'b':
            if (cli_parse_int("--batch", optarg, 1, 100000, &batch))
                goto done;
            break;
        case 's':
            if (cli_parse_seed("--seed", optarg, &seed))
                goto done;
            break;
        case 'e':
            if (cli_parse_positive("--eps", optarg, &eps))
                goto done;
            break;
        case 't':
            if (cli_parse_positive("--tol", optarg, &tol))
                goto done;
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
    if (!spec) {
        rc = cli_usage(CMD, "--net is required");
        goto done;
    }
    if (!(net = cli_parse_net("--net", spec)))
        goto done;
    if (cli_parse_loss("--loss", loss_name, net, &loss))
        goto done;

    rc = CLI_RUNTIME;
    int B = (int)batch, I = bp_net_inputs(net), O = bp_net_outputs(net);
    int L = bp_net_layers(net);
    x = malloc((size_t)B * (size_t)I * sizeof *x);
    t = malloc((size_t)B * (size_t)O * sizeof *t);
    report = calloc((size_t)L, sizeof *report);
    if (!x || !t || !report) {
        cli_error("out of memory");
        goto done;
    }
    bp_rng_seed(&rng, seed);
    int lib_rc = bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0);
    if (lib_rc != 0) {
        rc = cli_lib_error("initialising the network", lib_rc, net);
        goto done;
    }
    for (size_t k = 0; k < (size_t)B * (size_t)I; k++)
        x[k] = (float)bp_rng_normal(&rng);
    int T = random_targets(&rng, loss, B, O, t);
    if ((lib_rc = bp_gradcheck(net, loss, B, x, t, T, NULL, eps, report, &worst)) != 0) {
        rc = cli_lib_error("gradient check", lib_rc, net);
        goto done;
    }
    for (int l = 0; l < L; l++)
        failed += !(report[l].max_rel_error <= tol);
    bp_net_spec(net, spec_buf, sizeof spec_buf);

    if (json) {
        printf("{\"net\": ");
        cli_json_string(stdout, spec_buf);
        printf(", \"loss\": \"%s\", \"batch\": %d, \"seed\": %llu, \"eps\": ", bp_loss_name(loss),
               B, (unsigned long long)seed);
        cli_json_number(stdout, eps);
        printf(", \"tol\": ");
        cli_json_number(stdout, tol);
        printf(", \"layers\": [");
        for (int l = 0; l < L; l++) {
            char name[64];
            entry_name(name, sizeof name, net, l, report[l].worst);
            printf("%s\n  {\"layer\": %d, \"inputs\": %d, \"outputs\": %d, \"bias\": %s, "
                   "\"max_rel_error\": ",
                   l ? "," : "", l, bp_net_layer_inputs(net, l), bp_net_layer(net, l).width,
                   bp_net_bias(net, l) ? "true" : "false");
            cli_json_number(stdout, report[l].max_rel_error);
            printf(", \"worst\": \"%s\", \"analytic\": ", name);
            cli_json_number(stdout, report[l].analytic);
            printf(", \"numeric\": ");
            cli_json_number(stdout, report[l].numeric);
            printf(", \"pass\": %s}", report[l].max_rel_error <= tol ? "true" : "false");
        }
        printf("\n], \"max_rel_error\": ");
        cli_json_number(stdout, worst);
        printf(", \"pass\": %s}\n", failed ? "false" : "true");
    } else {
        printf("gradient check of %s, loss %s, batch %d, seed %llu, eps %g, tol %g\n\n",
               spec_buf, bp_loss_name(loss), B, (unsigned long long)seed, eps, tol);
        printf("%5s  %-14s  %13s  %-16s  %14s  %14s  %s\n", "layer", "shape", "max rel error",
               "worst entry", "analytic", "numeric", "result");
        for (int l = 0; l < L; l++) {
            char name[64], shape[64];
            entry_name(name, sizeof name, net, l, report[l].worst);
            snprintf(shape, sizeof shape, "%dx%d%s", bp_net_layer(net, l).width,
                     bp_net_layer_inputs(net, l), bp_net_bias(net, l) ? " + bias" : "");
            printf("%5d  %-14s  %13.3e  %-16s  %14.6e  %14.6e  %s\n", l, shape,
                   report[l].max_rel_error, name, report[l].analytic, report[l].numeric,
                   report[l].max_rel_error <= tol ? "PASS" : "FAIL");
        }
        if (failed)
            printf("\n%d of %d layer%s above the tolerance %g\n", failed, L, L == 1 ? "" : "s",
                   tol);
        else
            printf("\nall %d layer%s within the tolerance %g (largest relative error %.3e)\n",
                   L, L == 1 ? "" : "s", tol, worst);
    }
    rc = failed ? CLI_RUNTIME : CLI_OK;
done:
    free(x);
    free(t);
    free(report);
    bp_net_free(net);
    return rc;
}
