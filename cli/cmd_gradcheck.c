/*
 * cmd_gradcheck.c - `backprop gradcheck`: backpropagation's gradient against
 * central finite differences, layer by layer (bp_gradcheck), for a randomly
 * initialised network (--net) or a saved model at its own weights (--model),
 * on random samples or on the first rows of a data set (--data), for every
 * layer kind (a pool's row says it has no parameters). Exits 1 when any
 * layer exceeds the tolerance.
 */
#include "cli.h"
#include "data.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

static const char *const CMD = "gradcheck";

static const cli_help HELP = {
    "gradcheck", "backprop gradcheck (--net SPEC | --model MODEL) [OPTIONS]",
    "Compare every gradient entry from backpropagation with a central finite\n"
    "difference of the loss, and report the largest relative error of each layer.\n"
    "A network given by --net gets random weights; a model is checked at its own\n"
    "weights. The samples are random unless --data gives them. The network runs in\n"
    "training mode: batch norms use the batch's statistics, dropout layers draw nothing.",
    "Each layer gets a row: a dense layer's weights are named w[l][o][i], a\n"
    "convolution's w[l][out][c][ky][kx] (shape OUTxCxKxK), a batch norm's w[l][c],\n"
    "a bias b[l][o]; a pooling, activation or dropout layer has no parameters, and\n"
    "its row says so.",
    "Exit status: 0 when every layer passes, 1 when one fails or a file cannot\n"
    "be read, 2 on bad usage.",
    "  backprop gradcheck --net 4,8:tanh,3:softmax\n"
    "  backprop gradcheck --model examples/lesson.json --data examples/lesson-data.csv\n"
    "  backprop gradcheck --net 2,3:relu,3:softmax --batch 8 --json\n"
    "  backprop gradcheck --net 1x5x6,conv:3:3:tanh:pad=1:stride=2,maxpool:2,4:softmax\n"
    "  backprop gradcheck --net 1x6x6,conv:4:3:same,batchnorm,relu,maxpool:2,3:softmax\n"};

/* "w[l][o][i]" (dense), "w[l][o][c][ky][kx]" (conv) or "b[l][o]" for entry j
 * of layer l's block; "" for a layer without parameters. */
static void entry_name(char *buf, size_t size, bp_net *net, int l, size_t j)
{
    size_t dims[4], n = 1;
    int rank = bp_net_weight_dims(net, l, dims), at;
    buf[0] = '\0';
    if (rank == 0)
        return;
    for (int k = 0; k < rank; k++)
        n *= dims[k];
    if (j >= n) {
        snprintf(buf, size, "b[%d][%zu]", l, j - n);
        return;
    }
    at = snprintf(buf, size, "w[%d]", l);
    for (int k = 0; k < rank && at > 0 && (size_t)at < size; k++) {
        n /= dims[k];
        at += snprintf(buf + at, size - (size_t)at, "[%zu]", j / n);
        j %= n;
    }
}

/* The shape column: "8x4 + bias" (dense O x I), "3x1x3x3" (conv OUT x C x
 * K x K), or a pool's spec entry. */
static void layer_shape(char *buf, size_t size, bp_net *net, int l)
{
    size_t dims[4];
    int rank = bp_net_weight_dims(net, l, dims), at = 0;
    if (rank == 0) {
        if (cli_spec_entry(net, l, buf, size) != 0)
            snprintf(buf, size, "%s", bp_layer_kind_name(bp_net_layer(net, l).kind));
        return;
    }
    for (int k = 0; k < rank && at >= 0 && (size_t)at < size; k++)
        at += snprintf(buf + at, size - (size_t)at, "%s%zu", k ? "x" : "", dims[k]);
    if (bp_net_bias(net, l) && at >= 0 && (size_t)at < size)
        snprintf(buf + at, size - (size_t)at, " + bias");
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

/* Samples from the first B rows of ds: x (B, I), t (B, T). The data must
 * fit the network: I inputs, and one target per output or, for cce over
 * several outputs, one class index. Returns 0 or CLI_RUNTIME (printed). */
static int data_samples(const bp_dataset *ds, const char *spec, bp_net *net, bp_loss loss,
                        int B, float **x, float **t, int *T)
{
    int I = bp_net_inputs(net), O = bp_net_outputs(net), cols = bp_dataset_target_cols(ds);
    if (bp_dataset_inputs(ds) != I) {
        cli_error("--data %s: the data have %d input%s; the network expects %d", spec,
                  bp_dataset_inputs(ds), bp_dataset_inputs(ds) == 1 ? "" : "s", I);
        return CLI_RUNTIME;
    }
    if (cols != O && !(loss == BP_LOSS_CCE && O > 1 && cols == 1)) {
        cli_error("--data %s: the data have %d target column%s; the network has %d output%s, "
                  "so loss %s needs %d%s",
                  spec, cols, cols == 1 ? "" : "s", O, O == 1 ? "" : "s", bp_loss_name(loss), O,
                  loss == BP_LOSS_CCE && O > 1 ? " (or 1 column of class indices)" : "");
        return CLI_RUNTIME;
    }
    *x = malloc((size_t)B * (size_t)I * sizeof **x);
    *t = malloc((size_t)B * (size_t)cols * sizeof **t);
    if (!*x || !*t) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    int lib_rc = bp_dataset_gather(ds, NULL, 0, B, *x, *t);
    if (lib_rc != 0) {
        cli_error("--data %s: reading the first %d rows: %s", spec, B, bp_strerror(lib_rc));
        return CLI_RUNTIME;
    }
    *T = cols;
    return CLI_OK;
}

/* Nodes of ReLU-family layers whose input z, over the B samples, lies
 * within about one finite-difference step of 0: there the activation bends,
 * the central difference straddles the bend and is no derivative (a fresh
 * network's zero biases put every node exactly there for an all-zero
 * sample). Returns the count, or -1 when it cannot be measured. */
static long count_kinks(bp_net *net, bp_loss loss, int B, const float *x, const float *t,
                        int T, double eps)
{
    int L = bp_net_layers(net), I = bp_net_inputs(net), relu = 0;
    long kinks = 0;
    for (int l = 0; l < L; l++) {
        bp_act act = bp_net_layer(net, l).act;
        relu += act == BP_ACT_RELU || act == BP_ACT_LEAKY_RELU;
    }
    if (!relu)
        return 0;
    for (int b = 0; b < B; b++) {
        bp_explain *ex = NULL;
        if (bp_explain_sample(net, loss, x + (size_t)b * (size_t)I, t + (size_t)b * (size_t)T, T,
                              &ex) != 0)
            return -1;
        for (int l = 0; l < ex->n_layers; l++) {
            const bp_explain_layer *E = &ex->layers[l];
            double reach = 1.0;
            if (E->act != BP_ACT_RELU && E->act != BP_ACT_LEAKY_RELU)
                continue;
            for (int i = 0; i < E->inputs; i++)
                reach += E->input[i] < 0 ? -E->input[i] : E->input[i];
            for (int o = 0; o < E->outputs; o++)
                kinks += (E->z[o] < 0 ? -E->z[o] : E->z[o]) <= eps * reach;
        }
        bp_explain_free(ex);
    }
    return kinks;
}

int cmd_gradcheck(int argc, char **argv)
{
    const char *spec = NULL, *model_path = NULL, *loss_name = NULL, *data_spec = NULL;
    long batch = 4;
    uint64_t seed = 1;
    double eps = 1e-6, tol = 1e-3, worst = 0.0;
    int json = 0, rc = CLI_USAGE, failed = 0, T = 0;
    cli_model m = {NULL, NULL};
    cli_data d = {.cmd = CMD, .no_standardize = 1}; /* data as they are without a model */
    bp_net *net = NULL;
    bp_dataset *ds = NULL;
    bp_loss loss;
    bp_rng rng;
    float *x = NULL, *t = NULL;
    bp_gradcheck_layer *report = NULL;
    char spec_buf[512];

    const cli_opt opts[] = {
        {"net", CLI_OPT_STRING, "SPEC", &spec,
         .help = "the network, e.g. 2,3:relu,3:softmax, with Xavier-normal weights from --seed; "
                 "with --model, the model's network, for a file without one (a PyTorch "
                 "nn.Sequential state dict)"},
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "a model file, safetensors or JSON, checked at its weights (exactly one of "
                 "--net and --model is required, or both for a file without a spec)"},
        {"loss", CLI_OPT_STRING, "NAME", &loss_name, .help = "mse, mae, bce or cce",
         .def = "the loss saved with the model, else cce after softmax, bce after sigmoid, "
                "else mse"},
        {"data", CLI_OPT_STRING, "SPEC", &data_spec,
         .help = "take the samples and their targets from the first --batch rows of a data "
                 "set: " CLI_DATA_SPECS "; a model's input scaling is applied",
         .def = "random inputs N(0,1) and targets"},
        CLI_DATA_READ_OPTIONS(&d),
        {"batch", CLI_OPT_INT, "N", &batch, .min = 1, .max = 100000,
         .help = "samples; with --data, at most the data's rows", .def = "4"},
        {"seed", CLI_OPT_SEED, "N", &seed,
         .help = "seed for the weights of --net, the random samples and synthetic data sets",
         .def = "1"},
        {"eps", CLI_OPT_POSITIVE, "X", &eps,
         .help = "finite-difference step, relative to max(1, |w|)", .def = "1e-6"},
        {"tol", CLI_OPT_POSITIVE, "X", &tol, .help = "largest relative error that passes",
         .def = "1e-3"},
        {"json", CLI_OPT_FLAG, NULL, &json, .help = "print the report as JSON, ending with the network's layers and "
                 "their shapes (\"network\", as info --json gives them)"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto done;
    }
    rc = CLI_USAGE;
    if (!spec && !model_path) {
        rc = cli_usage(CMD, "--net is required (or --model)");
        goto done;
    }
    /* A bad --loss is a usage error whatever the network. */
    if (loss_name && cli_parse_loss("--loss", loss_name, NULL, &loss))
        goto done;

    bp_rng_seed(&rng, seed);
    if ((rc = cli_model_or_net(model_path, spec, loss_name, &m, &loss)) != 0)
        goto done;
    net = m.net;
    if (!model_path) {
        int lib_rc = bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0.0);
        if (lib_rc != 0) {
            rc = cli_lib_error("initialising the network", lib_rc, net);
            goto done;
        }
    }

    rc = CLI_RUNTIME;
    int B = (int)batch, I = bp_net_inputs(net), O = bp_net_outputs(net);
    int L = bp_net_layers(net);
    if (!(report = calloc((size_t)L, sizeof *report))) {
        cli_error("out of memory");
        goto done;
    }
    if (data_spec) {
        if (model_path ? !(ds = cli_data_load_model(&m, data_spec, 1, &d, seed))
                       : !(ds = cli_data_load_train(data_spec, &d, seed)))
            goto done;
        if (bp_dataset_rows(ds) == 0) {
            cli_error("--data %s: the data set has no rows", data_spec);
            goto done;
        }
        if ((size_t)B > bp_dataset_rows(ds))
            B = (int)bp_dataset_rows(ds);
        if (data_samples(ds, data_spec, net, loss, B, &x, &t, &T) != 0)
            goto done;
    } else {
        x = malloc((size_t)B * (size_t)I * sizeof *x);
        t = malloc((size_t)B * (size_t)O * sizeof *t);
        if (!x || !t) {
            cli_error("out of memory");
            goto done;
        }
        for (size_t k = 0; k < (size_t)B * (size_t)I; k++)
            x[k] = (float)bp_rng_normal(&rng);
        T = random_targets(&rng, loss, B, O, t);
    }
    /* training mode: batch norms use the batch's statistics; dropout draws nothing */
    bp_net_set_training(net, 1, NULL);
    int lib_rc = bp_gradcheck(net, loss, B, x, t, T, NULL, eps, report, &worst);
    if (lib_rc != 0) {
        rc = cli_lib_error("gradient check", lib_rc, net);
        goto done;
    }
    int checked = 0; /* layers with parameters: pools have none to check */
    for (int l = 0; l < L; l++) {
        if (bp_net_layer_params(net, l) == 0)
            continue;
        checked++;
        failed += !(report[l].max_rel_error <= tol);
    }
    long kinks = count_kinks(net, loss, B, x, t, T, eps);
    bp_net_spec(net, spec_buf, sizeof spec_buf);

    if (json) {
        printf("{\"net\": ");
        cli_json_string(stdout, spec_buf);
        printf(", \"model\": ");
        if (model_path)
            cli_json_string(stdout, model_path);
        else
            printf("null");
        printf(", \"data\": ");
        if (ds)
            cli_json_string(stdout, bp_dataset_describe(ds));
        else
            printf("null");
        printf(", \"loss\": \"%s\", \"batch\": %d, \"seed\": %llu, \"eps\": ", bp_loss_name(loss),
               B, (unsigned long long)seed);
        cli_json_number(stdout, eps);
        printf(", \"tol\": ");
        cli_json_number(stdout, tol);
        printf(", \"layers\": [");
        for (int l = 0; l < L; l++) {
            char name[64], entry[256];
            size_t dims[4];
            int rank = bp_net_weight_dims(net, l, dims);
            entry_name(name, sizeof name, net, l, report[l].worst);
            if (cli_spec_entry(net, l, entry, sizeof entry) != 0)
                entry[0] = '\0';
            printf("%s\n  {\"layer\": %d, \"entry\": ", l ? "," : "", l);
            cli_json_string(stdout, entry);
            printf(", \"kind\": \"%s\", \"inputs\": %d, \"outputs\": %zu, \"bias\": %s, "
                   "\"weight_dims\": [",
                   bp_layer_kind_name(bp_net_layer(net, l).kind), bp_net_layer_inputs(net, l),
                   bp_shape_size(bp_net_layer_shape(net, l)),
                   bp_net_bias(net, l) ? "true" : "false");
            for (int k = 0; k < rank; k++)
                printf("%s%zu", k ? ", " : "", dims[k]);
            printf("], \"parameters\": %zu, \"max_rel_error\": ", bp_net_layer_params(net, l));
            if (bp_net_layer_params(net, l) == 0) {
                printf("null, \"worst\": null, \"analytic\": null, \"numeric\": null, "
                       "\"pass\": null}");
                continue;
            }
            cli_json_number(stdout, report[l].max_rel_error);
            printf(", \"worst\": \"%s\", \"analytic\": ", name);
            cli_json_number(stdout, report[l].analytic);
            printf(", \"numeric\": ");
            cli_json_number(stdout, report[l].numeric);
            printf(", \"pass\": %s}", report[l].max_rel_error <= tol ? "true" : "false");
        }
        printf("\n], \"max_rel_error\": ");
        cli_json_number(stdout, worst);
        printf(", \"kinks\": ");
        if (kinks >= 0)
            printf("%ld", kinks);
        else
            printf("null");
        printf(", \"pass\": %s, ", failed ? "false" : "true");
        cli_json_net(stdout, net);
        printf("}\n");
    } else {
        printf("gradient check of %s, loss %s, batch %d, seed %llu, eps %g, tol %g\n",
               spec_buf, bp_loss_name(loss), B, (unsigned long long)seed, eps, tol);
        if (model_path)
            printf("weights: the model %s\n", model_path);
        else
            printf("weights: Xavier normal from seed %llu\n", (unsigned long long)seed);
        if (ds)
            printf("samples: the first %d row%s of %s%s\n", B, B == 1 ? "" : "s",
                   bp_dataset_describe(ds), model_path ? ", with the model's input scaling" : "");
        else
            printf("samples: random, inputs N(0,1), from seed %llu\n", (unsigned long long)seed);
        printf("\n%5s  %-14s  %13s  %-16s  %14s  %14s  %s\n", "layer", "shape", "max rel error",
               "worst entry", "analytic", "numeric", "result");
        for (int l = 0; l < L; l++) {
            char name[64], shape[64];
            entry_name(name, sizeof name, net, l, report[l].worst);
            layer_shape(shape, sizeof shape, net, l);
            if (bp_net_layer_params(net, l) == 0) {
                printf("%5d  %-14s  %13s  %-16s  %14s  %14s  %s\n", l, shape, "-",
                       "no parameters", "-", "-", "-");
                continue;
            }
            printf("%5d  %-14s  %13.3e  %-16s  %14.6e  %14.6e  %s\n", l, shape,
                   report[l].max_rel_error, name, report[l].analytic, report[l].numeric,
                   report[l].max_rel_error <= tol ? "PASS" : "FAIL");
        }
        if (failed)
            printf("\n%d of %d layer%s%s above the tolerance %g\n", failed, checked,
                   checked == 1 ? "" : "s", checked < L ? " with parameters" : "", tol);
        else
            printf("\nall %d layer%s%s within the tolerance %g (largest relative error %.3e)\n",
                   checked, checked == 1 ? "" : "s", checked < L ? " with parameters" : "", tol,
                   worst);
        if (failed && kinks > 0)
            printf("note: %ld ReLU node input%s over these samples lie%s within a step of 0,\n"
                   "where the activation bends: the numeric slope there is no derivative, so\n"
                   "a failure may come from the samples, not from backpropagation\n",
                   kinks, kinks == 1 ? "" : "s", kinks == 1 ? "s" : "");
    }
    rc = failed ? CLI_RUNTIME : CLI_OK;
done:
    free(x);
    free(t);
    free(report);
    bp_dataset_free(ds);
    /* m.net is the network in both cases; m.meta is NULL for --net. */
    cli_model_free(&m);
    return rc;
}
