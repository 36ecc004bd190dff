/*
 * cmd_lrfind.c - `backprop lr-find`: the learning-rate range test. From
 * fresh (or given) weights, take one optimizer step per mini-batch while the
 * rate rises geometrically from --min-lr to --max-lr, recording each
 * batch's loss before its step; stop when the smoothed loss runs away.
 * The suggested rate is where the smoothed loss falls fastest against the
 * log of the rate, before its lowest point.
 *
 * Every figure is measured: the losses are the batches' losses as computed
 * by bp_net_gradient, the rates the ones each step used.
 */
#include "cli.h"
#include "data.h"
#include "paths.h"
#include "model.h"
#include "progress.h"
#include "svg.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "lr-find";

#define SMOOTH 0.98   /* exponential smoothing of the loss */
#define DIVERGE 4.0   /* stop once the smoothed loss is this many times its lowest (as HELP says) */

static const cli_help HELP = {
    "lr-find", "backprop lr-find --data SPEC [OPTIONS]",
    "The learning-rate range test: one step per mini-batch with the rate rising\n"
    "geometrically from --min-lr to --max-lr, the loss of every batch recorded\n"
    "before its step, until the loss runs away (smoothed, it exceeds 4 times its\n"
    "lowest) or the rates run out. Prints the suggested rate: where the smoothed\n"
    "loss falls fastest against log(rate), before its lowest point. The losses of\n"
    "a regression target read from delimited text are in its units, as train's.",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop lr-find --data fashion-mnist --plot lr.svg\n"
    "  backprop lr-find --data spiral:100:3 --net 2,64:relu,3:softmax --optimizer adam \\\n"
    "      --batch 30 --plot lr.svg\n"};

typedef struct finder {
    const char *data, *net, *init, *loss, *plot;
    bp_optim_kind optimizer;
    double momentum, min_lr, max_lr;
    long batch, steps;
    uint64_t seed;
    int json, momentum_set;
    cli_data d;   /* how the data are read and encoded */
} finder;

/* What the test measured. */
typedef struct sweep {
    int n;                 /* steps recorded */
    double *lr, *loss, *smooth; /* (n) each */
    int best;              /* step of the lowest smoothed loss */
    int suggest;           /* step of the steepest fall; -1: too few steps */
    int diverged;          /* stopped on a runaway or non-finite loss */
} sweep;

static const char *const OPTIMIZERS[] = {"gd", "sgd", "rmsprop", "adam", "adamw", NULL};

/* --optimizer's name as the library's kind. */
static int set_optimizer(const char *arg, void *ctx)
{
    finder *s = ctx;
    bp_optim_parse(arg, &s->optimizer);
    return CLI_OK;
}

static int parse(int argc, char **argv, finder *s)
{
    int optimizer = 1;
    const cli_opt opts[] = {
        {"data", CLI_OPT_STRING, "SPEC", &s->data,
         .help = "training data (required), as for backprop train"},
        CLI_DATA_READ_OPTIONS(&s->d),
        CLI_DATA_ENCODE_OPTIONS(&s->d),
        {"net", CLI_OPT_STRING, "SPEC", &s->net, .help = "the network",
         .def = "as backprop train picks"},
        {"init", CLI_OPT_STRING, "MODEL", &s->init,
         .help = "start from this model's weights and input scaling",
         .def = "fresh weights, he or xavier as backprop train"},
        {"loss", CLI_OPT_LOSS, "NAME", &s->loss, .help = "mse, mae, bce or cce",
         .def = "as backprop train"},
        {"optimizer", CLI_OPT_CHOICE, "NAME", &optimizer, .choices = OPTIMIZERS,
         .fn = set_optimizer, .help = "gd, sgd, rmsprop, adam or adamw", .def = "sgd"},
        {"momentum", CLI_OPT_FRACTION, "F", &s->momentum, .given = &s->momentum_set,
         .help = "sgd momentum, in [0, 1)", .def = "0.9"},
        {"batch", CLI_OPT_INT, "N", &s->batch, .min = 0, .max = 1L << 30,
         .help = "rows per batch; 0 for the whole set", .def = "64"},
        {"min-lr", CLI_OPT_POSITIVE, "F", &s->min_lr, .help = "the first rate", .def = "1e-6"},
        {"max-lr", CLI_OPT_POSITIVE, "F", &s->max_lr, .help = "the last rate", .def = "10"},
        {"steps", CLI_OPT_INT, "N", &s->steps, .min = 2, .max = 1000000,
         .help = "steps from the first rate to the last", .def = "100"},
        {"seed", CLI_OPT_SEED, "N", &s->seed,
         .help = "seed of the weights, the shuffling and synthetic data", .def = "1"},
        {"plot", CLI_OPT_STRING, "FILE.svg", &s->plot,
         .help = "draw the loss against the rate, log scale", .def = "none"},
        {"json", CLI_OPT_FLAG, NULL, &s->json, .help = "print the result, the network's layers with their shapes (\"network\", as "
                 "info --json gives them) and every step as JSON",
         .def = "off"},
        {0}};
    int rc;
    memset(s, 0, sizeof *s);
    s->optimizer = BP_OPTIM_SGD;
    s->momentum = 0.9;
    s->batch = 64;
    s->min_lr = 1e-6;
    s->max_lr = 10.0;
    s->steps = 100;
    s->seed = 1;
    if ((rc = cli_parse(&HELP, opts, argc, argv, s)) != 0)
        return rc;
    s->d.cmd = CMD;
    s->d.quiet = s->json;
    if (!s->data)
        return cli_usage(CMD, "--data is required");
    if (!(s->max_lr > s->min_lr))
        return cli_usage(CMD, "--max-lr (%g) must be above --min-lr (%g)", s->max_lr, s->min_lr);
    if (s->momentum_set && s->optimizer != BP_OPTIM_SGD)
        return cli_usage(CMD, "--momentum applies only to --optimizer sgd");
    if (s->init && s->net)
        return cli_usage(CMD, "--net and --init exclude each other (the model has its network)");
    return CLI_OK;
}

/* The network: --init's, --net's or train's default for the data, with
 * fresh weights unless --init. */
static bp_net *make_net(const finder *s, cli_model *m, bp_dataset *ds)
{
    char spec[128];
    int I = bp_dataset_inputs(ds), C = bp_dataset_classes(ds), lib;
    bp_net *net;
    bp_rng rng;
    if (s->init) {
        if (cli_model_scale(m, ds) != 0)
            return NULL;
        net = m->net;
        m->net = NULL;
        return net;
    }
    if (s->net)
        return cli_parse_net("--net", s->net);
    if (C >= 2)
        snprintf(spec, sizeof spec, "%d,256:relu,128:relu,%d:softmax", I, C);
    else
        snprintf(spec, sizeof spec, "%d,64:relu,%d:identity", I, bp_dataset_target_cols(ds));
    if (!(net = cli_parse_net("the default network", spec)))
        return NULL;
    bp_act first = bp_net_layer(net, 0).act;
    bp_rng_seed(&rng, s->seed);
    lib = bp_net_init(net, &rng,
                      first == BP_ACT_RELU || first == BP_ACT_LEAKY_RELU ? BP_INIT_HE_NORMAL
                                                                         : BP_INIT_XAVIER_NORMAL,
                      0.0);
    if (lib != 0) {
        cli_lib_error("initialising the network", lib, net);
        bp_net_free(net);
        return NULL;
    }
    return net;
}

/* Fresh weights for --net given explicitly (make_net left them at zero). */
static int init_explicit(const finder *s, bp_net *net)
{
    bp_rng rng;
    bp_act first = bp_net_layer(net, 0).act;
    int lib;
    if (s->init || !s->net)
        return CLI_OK;
    bp_rng_seed(&rng, s->seed);
    lib = bp_net_init(net, &rng,
                      first == BP_ACT_RELU || first == BP_ACT_LEAKY_RELU ? BP_INIT_HE_NORMAL
                                                                         : BP_INIT_XAVIER_NORMAL,
                      0.0);
    return lib ? cli_lib_error("initialising the network", lib, net) : CLI_OK;
}

/* Fisher-Yates with the run's generator. */
static void shuffle(bp_rng *rng, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bp_rng_below(rng, i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Where the smoothed loss falls fastest against log(rate), up to its lowest
 * point; -1 when there are too few steps. */
static int steepest(const sweep *w)
{
    int k = -1;
    double best = 0.0;
    for (int i = 1; i < w->best && i + 1 < w->n; i++) {
        double d = (w->smooth[i + 1] - w->smooth[i - 1]) / (log(w->lr[i + 1]) - log(w->lr[i - 1]));
        if (d < best) {
            best = d;
            k = i;
        }
    }
    return k;
}

static int run_sweep(const finder *s, bp_net *net, bp_loss loss, const bp_dataset *ds, sweep *w)
{
    size_t n = bp_dataset_rows(ds), pos = 0, *order = malloc(n * sizeof *order);
    int I = bp_net_inputs(net), T = bp_dataset_target_cols(ds), lib;
    int B = s->batch == 0 || (size_t)s->batch > n ? (int)n : (int)s->batch;
    float *x = malloc((size_t)B * ((size_t)I + (size_t)T) * sizeof *x); /* (B, I + T) */
    bp_optim_opts oo = bp_optim_defaults(s->optimizer);
    bp_optim *opt = NULL;
    bp_error err;
    bp_rng rng;
    double avg = 0.0;
    int rc = CLI_RUNTIME;
    w->lr = malloc(3 * (size_t)s->steps * sizeof *w->lr);
    if (!order || !x || !w->lr) {
        cli_error("out of memory");
        goto done;
    }
    w->loss = w->lr + s->steps;
    w->smooth = w->loss + s->steps;
    oo.lr = s->min_lr;
    if (s->optimizer == BP_OPTIM_SGD)
        oo.momentum = s->momentum;
    if (!(opt = bp_optim_create(net, &oo, &err))) {
        cli_error("%s", err.message);
        goto done;
    }
    float *t = x + (size_t)B * (size_t)I;
    bp_rng_seed(&rng, s->seed);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    shuffle(&rng, order, n);
    /* a standardized regression target's losses in its units, as train
     * reports them (a constant factor: the suggestion does not move) */
    double mean, scale, mul = 1.0;
    if (bp_dataset_target_scaling(ds, &mean, &scale) == 0)
        mul = loss == BP_LOSS_MAE ? scale : scale * scale;
    bp_net_set_training(net, 1, &rng); /* steps as training takes them: batch statistics */
    for (long k = 0; k < s->steps; k++) {
        double lr = s->min_lr * pow(s->max_lr / s->min_lr, (double)k / (double)(s->steps - 1));
        double value;
        if (pos + (size_t)B > n) {
            shuffle(&rng, order, n);
            pos = 0;
        }
        if ((lib = bp_dataset_gather(ds, order + pos, 0, B, x, t)) != 0 ||
            (lib = bp_net_gradient(net, loss, B, x, t, T, &value)) != 0) {
            cli_lib_error("the range test", lib, net);
            goto done;
        }
        pos += (size_t)B;
        value *= mul;
        w->lr[w->n] = lr;
        w->loss[w->n] = value;
        if (!isfinite(value)) {
            w->smooth[w->n++] = value;
            w->diverged = 1;
            break;
        }
        avg = SMOOTH * avg + (1.0 - SMOOTH) * value;
        w->smooth[w->n] = avg / (1.0 - pow(SMOOTH, (double)(k + 1)));
        if (k == 0 || w->smooth[w->n] < w->smooth[w->best])
            w->best = w->n;
        w->n++;
        if (w->smooth[w->n - 1] > DIVERGE * w->smooth[w->best]) {
            w->diverged = 1;
            break;
        }
        if ((lib = bp_optim_step(opt, lr)) != 0) {
            cli_lib_error("the range test", lib, net);
            goto done;
        }
    }
    w->suggest = steepest(w);
    rc = CLI_OK;
done:
    bp_optim_free(opt);
    free(x);
    free(order);
    return rc;
}

/* Loss against rate, log scale, with the suggestion marked. */
static int plot(const char *path, const sweep *w, double suggested)
{
    cli_outfile of;
    svg_axes a = {.left = 70, .top = 30, .width = 560, .height = 300, .logx = 1};
    double lo = 1, hi = 0;
    char title[96], num[32];
    if (cli_outfile_open(&of, path) != 0)
        return CLI_RUNTIME;
    FILE *f = of.f;
    a.x0 = w->lr[0];
    a.x1 = w->lr[w->n - 1] > a.x0 ? w->lr[w->n - 1] : a.x0 * 10;
    /* Both losses set the range, cut off where the smoothed one ran away. */
    svg_range_add(&lo, &hi, w->smooth, w->n, 0);
    svg_range_add(&lo, &hi, w->loss, w->n, 0);
    if (lo <= hi && hi > DIVERGE * w->smooth[w->best])
        hi = DIVERGE * w->smooth[w->best];
    svg_range_fix(&lo, &hi, 0);
    a.y0 = lo;
    a.y1 = hi;
    if (suggested > 0)
        snprintf(title, sizeof title, "Learning-rate range test: suggested lr %.3g", suggested);
    else
        snprintf(title, sizeof title, "Learning-rate range test: no suggested lr");
    svg_begin(f, 680, 380, "chart");
    svg_axes_draw(f, &a, title, "learning rate (log scale)", "loss");
    fprintf(f, "<clipPath id=\"plot\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
               "height=\"%.2f\"/></clipPath>\n<g clip-path=\"url(#plot)\">\n",
            a.left, a.top, a.width, a.height);
    svg_line(f, &a, "batch loss", w->lr, w->loss, w->n, "#9ecae1", 1, 0);
    svg_line(f, &a, "smoothed loss", w->lr, w->smooth, w->n, svg_color(0), 2.5, 0);
    if (suggested > 0) {
        double x = svg_px(&a, suggested);
        fprintf(f, "<line class=\"suggested\" data-lr=\"%s\" x1=\"%.2f\" y1=\"%.2f\" "
                   "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1.5\" "
                   "stroke-dasharray=\"5,3\"/>\n",
                cli_num(num, suggested), x, a.top, x, a.top + a.height, svg_color(3));
    }
    fputs("</g>\n", f);
    const char *names[3] = {"batch loss", "smoothed loss", "suggested rate"};
    const char *colors[3] = {"#9ecae1", svg_color(0), svg_color(3)};
    svg_legend(f, &a, names, colors, suggested > 0 ? 3 : 2, 1);
    svg_end(f);
    return cli_outfile_commit(&of);
}

int cmd_lrfind(int argc, char **argv)
{
    finder s;
    cli_model m = {NULL, NULL};
    bp_dataset *ds = NULL;
    bp_net *net = NULL;
    sweep w;
    bp_loss loss;
    bp_error err;
    char b1[32], b2[32], b3[32];
    int rc = parse(argc, argv, &s);
    memset(&w, 0, sizeof w);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    {
        const cli_file outs[] = {{"--plot", s.plot, 0, NULL}};
        const cli_file ins[] = {{"--data", s.data, 1, NULL}, {"--init", s.init, 0, NULL}};
        if ((rc = cli_paths_check(CMD, outs, 1, ins, 2)) != 0)
            return rc;
    }
    if (s.plot && cli_check_writable("--plot", s.plot) != 0)
        return CLI_RUNTIME;
    if (s.init && (rc = cli_model_load(s.init, &m)) != 0)
        return rc;
    rc = CLI_RUNTIME;
    /* read as train reads them: with --init, by the model's saved encoding
     * (none: as the library reads a spec alone) */
    ds = s.init ? cli_data_load_schema(s.data, bp_meta_get(m.meta, "schema"), 1, &s.d, s.seed)
                : cli_data_load_train(s.data, &s.d, s.seed);
    if (!ds || !(net = make_net(&s, &m, ds)))
        goto done;
    if ((rc = init_explicit(&s, net)) != 0)
        goto done;
    if ((rc = s.init ? cli_model_loss(&m, s.loss, &loss) : cli_parse_loss("--loss", s.loss, net,
                                                                            &loss)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (bp_net_check_inputs(net, ds, NULL, &err) != 0) {
        cli_error("%s", err.message);
        goto done;
    }
    if (run_sweep(&s, net, loss, ds, &w) != 0)
        goto done;
    double suggested = w.suggest >= 0 ? w.lr[w.suggest] : NAN;
    if (s.plot && plot(s.plot, &w, suggested) != 0)
        goto done;
    if (s.json) {
        printf("{\"suggested_lr\": ");
        cli_json_number(stdout, suggested);
        printf(", \"lowest_loss_lr\": ");
        cli_json_number(stdout, w.lr[w.best]);
        printf(", \"lowest_smoothed_loss\": ");
        cli_json_number(stdout, w.smooth[w.best]);
        printf(", \"stopped_lr\": ");
        cli_json_number(stdout, w.lr[w.n - 1]);
        printf(", \"stop\": \"%s\", ", w.diverged ? "diverged" : "max-lr");
        cli_json_net(stdout, net);
        printf(", \"steps\": [");
        for (int i = 0; i < w.n; i++) {
            printf("%s\n  {\"lr\": ", i ? "," : "");
            cli_json_number(stdout, w.lr[i]);
            printf(", \"loss\": ");
            cli_json_number(stdout, w.loss[i]);
            printf(", \"smoothed\": ");
            cli_json_number(stdout, w.smooth[i]);
            printf("}");
        }
        printf("\n]}\n");
    } else {
        if (w.suggest >= 0)
            printf("suggested lr %s (steepest fall of the smoothed loss)", cli_fig(b1, 32, suggested));
        else
            printf("no suggested lr (too few steps before the lowest loss; lower --min-lr)");
        printf("; lowest smoothed loss %s at lr %s; %s at lr %s after %d steps\n",
               cli_fig(b2, 32, w.smooth[w.best]), cli_fig(b3, 32, w.lr[w.best]),
               w.diverged ? "the loss ran away" : "stopped at --max-lr",
               cli_fig(b1, 32, w.lr[w.n - 1]), w.n);
        if (s.plot)
            printf("plot written to %s\n", s.plot);
    }
    rc = CLI_OK;
done:
    free(w.lr);
    bp_net_free(net);
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
