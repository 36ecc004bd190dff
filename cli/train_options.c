/*
 * train_options.c - the command line of `backprop train`: its help, and
 * its options parsed and checked into the settings.
 */
#include "train.h"
#include "dist.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_help HELP = {
    TRAIN_CMD, "backprop train --data SPEC [OPTIONS]",
    "Train a network by backpropagation and mini-batch gradient descent, print\n"
    "the figures of every epoch and save the model (safetensors, with the loss,\n"
    "input scaling, settings and final figures in its metadata).",
    NULL,
    "Exit status: 0 on success; 1 on a runtime error, or when training diverged (a\n"
    "non-finite loss or gradient: the last good weights are saved when their\n"
    "outputs are finite, marked so); 2 on bad usage; 130 when Ctrl-C or SIGTERM\n"
    "stopped it after a batch (the model so far, the log and any checkpoint are\n"
    "written).",
    "  backprop train --data spiral:100:3 --optimizer adam --epochs 200 --val-split 0.2 \\\n"
    "      --patience 20 --out spiral.safetensors --log spiral.csv\n"
    "  backprop train --data examples/houses.csv --missing mean --epochs 50 \\\n"
    "      --out houses.safetensors --log houses-log.csv\n"
    "  backprop train --data examples/lesson-data.csv --net 2,1:identity --optimizer gd \\\n"
    "      --lr 0.02 --batch 0 --epochs 200 --out lesson-fit.safetensors\n"};

/* ---- settings ----------------------------------------------------------- */


static const struct {
    const char *name;
    bp_init scheme;
} init_schemes[] = {
    {"he", BP_INIT_HE_NORMAL},
    {"xavier", BP_INIT_XAVIER_NORMAL},
    {"lecun", BP_INIT_LECUN_NORMAL},
    {"he-uniform", BP_INIT_HE_UNIFORM},
    {"xavier-uniform", BP_INIT_XAVIER_UNIFORM},
    {"lecun-uniform", BP_INIT_LECUN_UNIFORM},
};

#define N_SCHEMES ((int)(sizeof init_schemes / sizeof init_schemes[0]))

const char *train_scheme_name(int scheme)
{
    for (int i = 0; i < N_SCHEMES; i++)
        if ((int)init_schemes[i].scheme == scheme)
            return init_schemes[i].name;
    return "?";
}

/* --optimizer, --schedule and --init-scheme: names the library knows. */
static int set_optimizer(const char *arg, void *ctx)
{
    settings *s = ctx;
    if (bp_optim_parse(arg, &s->optimizer) == 0)
        return 0;
    cli_error("--optimizer: unknown optimizer '%s' (expected gd, sgd, rmsprop, adam, adamw "
              "or random)", arg);
    return CLI_USAGE;
}

static int set_precision(const char *arg, void *ctx)
{
    settings *s = ctx;
    if (bp_precision_parse(arg, &s->precision) == 0)
        return 0;
    cli_error("--precision: unknown precision '%s' (expected fp32 or bf16)", arg);
    return CLI_USAGE;
}

static int set_schedule(const char *arg, void *ctx)
{
    settings *s = ctx;
    if (bp_schedule_parse(arg, &s->schedule) == 0)
        return 0;
    cli_error("--schedule: unknown schedule '%s' (expected constant, step, exp or cosine)", arg);
    return CLI_USAGE;
}

static int set_scheme(const char *arg, void *ctx)
{
    settings *s = ctx;
    for (int i = 0; i < N_SCHEMES; i++)
        if (strcmp(arg, init_schemes[i].name) == 0) {
            s->init_scheme = (int)init_schemes[i].scheme;
            return 0;
        }
    cli_error("--init-scheme: unknown scheme '%s' (expected he, xavier, lecun, he-uniform, "
              "xavier-uniform or lecun-uniform)", arg);
    return CLI_USAGE;
}

/* --gamma is in (0, 1]. */
static int check_gamma(const char *arg, void *ctx)
{
    settings *s = ctx;
    if (s->gamma <= 1.0)
        return 0;
    cli_error("--gamma: expected a number in (0, 1], got '%s'", arg);
    return CLI_USAGE;
}

/* Parse the command line into s: CLI_OK, CLI_USAGE (printed), or -1 after
 * --help. */
int train_parse_options(int argc, char **argv, settings *s)
{
    const cli_opt opts[] = {
        CLI_HEADING("Data"),
        {"data", CLI_OPT_STRING, "SPEC", &s->data, .help = "training data (required): " CLI_DATA_SPECS},
        {"test", CLI_OPT_STRING, "SPEC", &s->test,
         .help = "test data, evaluated after every epoch", .def = "none"},
        {"val-split", CLI_OPT_FRACTION, "F", &s->val_split,
         .help = "fraction of the training rows held out for validation, in [0, 1)", .def = "0"},
        {"standardize", CLI_OPT_FLAG, NULL, &s->d.standardize,
         .help = "scale each input to mean 0 and variance 1 over the training data (delimited "
                 "text is, unless --no-standardize); the scaling is saved with the model",
         .def = "on for delimited text, else off; images are scaled to [0, 1] either way"},
        CLI_DATA_READ_OPTIONS(&s->d),
        CLI_DATA_ENCODE_OPTIONS(&s->d),
        {"class-weight", CLI_OPT_STRING, "W", &s->class_weight,
         .help = "weigh each class's rows in the training loss: 'balanced' (rows / (classes * "
                 "rows of the class), as scikit-learn) or NAME=W,... (by class name or number; "
                 "classes not named weigh 1); saved with the model",
         .def = "none, every row weighs 1"},

        CLI_HEADING("Network"),
        {"net", CLI_OPT_STRING, "SPEC", &s->net, .help = "the network",
         .def = "I,256:relu,128:relu,C:softmax for C >= 2 classes, else I,64:relu,T:identity, "
                "with I inputs and T target columns"},
        {"loss", CLI_OPT_LOSS, "NAME", &s->loss, .help = "mse, mae, bce or cce",
         .def = "cce after softmax, bce after sigmoid, else mse; with --init, the model's"},
        {"init-scheme", CLI_OPT_STRING, "NAME", NULL, .fn = set_scheme,
         .help = "he, xavier, lecun, he-uniform, xavier-uniform or lecun-uniform",
         .def = "he when the first layer is relu or leaky_relu, else xavier"},
        {"init", CLI_OPT_STRING, "MODEL", &s->init,
         .help = "start from this model's network, weights and scaling",
         .def = "none; fresh weights"},
        {"dropout", CLI_OPT_FRACTION, "F", &s->dropout,
         .help = "dropout on the hidden layers, in [0, 1)", .def = "0"},
        {"precision", CLI_OPT_STRING, "NAME", NULL, .fn = set_precision,
         .help = "fp32, or bf16: matrix products and convolutions take bfloat16 inputs and "
                 "accumulate in float, as mixed-precision training does; weights, gradients, "
                 "optimizer state, batch norm, the loss and the saved model stay fp32. bf16 "
                 "needs the oneDNN build and a CPU with avx512_bf16 or amx_bf16 (else exit 2, "
                 "naming what is missing)",
         .def = "fp32"},

        CLI_HEADING("Optimizer"),
        {"optimizer", CLI_OPT_STRING, "NAME", NULL, .fn = set_optimizer,
         .help = "gd, sgd, rmsprop, adam, adamw or random", .def = "sgd"},
        {"lr", CLI_OPT_POSITIVE, "F", &s->lr, .given = &s->lr_set, .help = "learning rate",
         .def = "0.05 for sgd and gd, 0.001 for adam and adamw, 0.01 for rmsprop"},
        {"momentum", CLI_OPT_FRACTION, "F", &s->momentum, .given = &s->momentum_set,
         .help = "sgd momentum, in [0, 1)", .def = "0.9"},
        {"nesterov", CLI_OPT_FLAG, NULL, &s->nesterov, .help = "sgd with Nesterov momentum",
         .def = "off"},
        {"scale", CLI_OPT_POSITIVE, "F", &s->scale, .given = &s->scale_set,
         .help = "random: perturb every weight by F times a standard normal draw, keep it if "
                 "the loss fell",
         .def = "0.05"},
        {"weight-decay", CLI_OPT_NONNEG, "F", &s->weight_decay, .given = &s->weight_decay_set,
         .help = "L2 penalty; decoupled for adamw", .def = "0; adamw 0.01"},
        {"clip", CLI_OPT_NONNEG, "F", &s->clip, .help = "clip the gradient's global norm to F",
         .def = "0, off"},

        CLI_HEADING("Schedule (one step per batch)"),
        {"schedule", CLI_OPT_STRING, "NAME", NULL, .fn = set_schedule,
         .help = "constant, step, exp or cosine",
         .def = "cosine, from --lr down to 0 over all the run's steps"},
        {"warmup", CLI_OPT_INT, "N", &s->warmup, .min = 0, .max = LONG_MAX,
         .help = "steps of linear warm-up first", .def = "0"},
        {"gamma", CLI_OPT_POSITIVE, "F", &s->gamma, .given = &s->gamma_set, .fn = check_gamma,
         .help = "decay factor in (0, 1]: step: per --step-size steps (default: 0.1); exp: per "
                 "step",
         .def = "the factor that takes the rate to 1/100 of --lr over the run"},
        {"step-size", CLI_OPT_INT, "N", &s->step_size, .min = 1, .max = LONG_MAX,
         .given = &s->step_size_set, .help = "step: steps between decays",
         .def = "a third of the run"},

        CLI_HEADING("Run"),
        {"batch", CLI_OPT_INT, "N", &s->batch, .min = 0, .max = 1L << 30,
         .help = "rows per batch; 0 for the whole set", .def = "128"},
        {"epochs", CLI_OPT_INT, "N", &s->epochs, .min = 1, .max = INT_MAX,
         .help = "passes over the training data", .def = "10"},
        {"seed", CLI_OPT_SEED, "N", &s->seed,
         .help = "seed of the weights, the shuffling, the validation split, dropout and "
                 "synthetic data; a synthetic --test set is drawn with N + 1",
         .def = "1"},
        {"no-shuffle", CLI_OPT_FLAG, NULL, &s->no_shuffle, .help = "keep the rows in file order",
         .def = "reshuffle every epoch; a full batch is never shuffled"},
        {"patience", CLI_OPT_INT, "N", &s->patience, .min = 0, .max = INT_MAX,
         .help = "stop after N epochs without a better validation loss and keep the best "
                 "weights; needs --val-split",
         .def = "0, off"},
        {"threads", CLI_OPT_INT, "N", &s->threads, .min = 1, .max = 1024,
         .help = "threads for the arithmetic; the results do not depend on it",
         .def = "1 or all of OMP_NUM_THREADS, else of the cores, whichever measures faster, "
                "measured again every few seconds; with a full batch, all; under mpirun, the "
                "machine's cores / its ranks"},
        {"deterministic", CLI_OPT_FLAG, NULL, &s->deterministic,
         .help = "cut every batch into --parts fixed parts and add their gradients (and the "
                 "batch norms' statistics) in part order, so that a run over any number of MPI "
                 "ranks (up to the parts) gives the same bits as one process",
         .def = "off; under mpirun, each rank takes an equal share of the batch and MPI adds "
                "them"},
        {"parts", CLI_OPT_INT, "N", &s->parts, .min = 1, .max = 1 << 20, .given = &s->parts_set,
         .help = "parts per batch with --deterministic", .def = "12"},

        CLI_HEADING("Output"),
        {"out", CLI_OPT_STRING, "MODEL", &s->out, .given = &s->out_set,
         .help = "where to save the model; .onnx writes ONNX, .c C source, any other name but "
                 ".json safetensors",
         .def = "model.safetensors, or model-2.safetensors, ... when it exists: an earlier "
                "model is never replaced unnamed"},
        {"log", CLI_OPT_STRING, "FILE.csv", &s->log,
         .help = "write the figures of every epoch as CSV; epochs shorter than 20 us are timed "
                 "in groups: the group's last row holds its mean seconds and samples/s, the "
                 "others leave them empty",
         .def = "none"},
        {"report", CLI_OPT_STRING, "FILE.html", &s->report,
         .help = "write a training report: curves, rate, confusion matrix, the most "
                 "confidently wrong samples, per-layer norms and the settings, as one "
                 "self-contained page",
         .def = "none"},
        {"json", CLI_OPT_FLAG, NULL, &s->json,
         .help = "print one JSON object at the end and nothing else: the epochs, the model "
                 "and log written, the task, the data and the network's layers with their "
                 "shapes (\"network\", as info --json gives them)",
         .def = "off"},
        {"quiet", CLI_OPT_FLAG, NULL, &s->quiet, .help = "print only errors", .def = "off"},
        {"checkpoint", CLI_OPT_STRING, "FILE", &s->checkpoint,
         .help = "save the whole training state to FILE (atomically) at the end of every "
                 "epoch's batches, and on Ctrl-C",
         .def = "none"},
        {"checkpoint-every", CLI_OPT_INT, "N", &s->checkpoint_every, .min = 0, .max = LONG_MAX,
         .help = "save it every N optimizer steps instead", .def = "0, per epoch"},
        {"resume", CLI_OPT_STRING, "FILE", &s->resume,
         .help = "go on from a checkpoint, bit for bit as if never stopped; give the same "
                 "options as the run that wrote it, but --epochs may differ",
         .def = "none"},
        {0}};
    int rc;
    memset(s, 0, sizeof *s);
    s->optimizer = BP_OPTIM_SGD;
    s->schedule = BP_SCHED_COSINE;
    s->init_scheme = -1;
    s->batch = 128;
    s->epochs = 10;
    s->seed = 1;
    s->out = "model.safetensors";
    if ((rc = cli_parse(&HELP, opts, argc, argv, s)) != 0)
        return rc < 0 ? -1 : rc;
    s->d.cmd = TRAIN_CMD;
    s->d.quiet = s->quiet || s->json;
    if (s->d.standardize && s->d.no_standardize)
        return cli_usage(TRAIN_CMD, "--standardize and --no-standardize contradict each other");

    if (s->checkpoint_every > 0 && !s->checkpoint)
        return cli_usage(TRAIN_CMD, "--checkpoint-every needs --checkpoint");
    if ((s->checkpoint || s->resume) && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(TRAIN_CMD, "--checkpoint and --resume do not apply to --optimizer random");
    if (s->parts_set && !s->deterministic)
        return cli_usage(TRAIN_CMD, "--parts applies only with --deterministic");
    if (!s->deterministic)
        s->parts = 0;
    else if (!s->parts_set)
        s->parts = 12;
    if (s->parts > 0 && s->parts < cli_dist_size())
        return cli_usage(TRAIN_CMD, "--parts %ld is fewer than the %d MPI ranks (each computes at "
                         "least one part)", s->parts, cli_dist_size());
    if (s->deterministic && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(TRAIN_CMD, "--deterministic does not apply to --optimizer random");
    if ((s->deterministic || cli_dist_size() > 1) && s->dropout > 0.0)
        return cli_usage(TRAIN_CMD, "--dropout cannot be split over %s (the masks would differ)",
                         s->deterministic ? "--deterministic's parts" : "MPI ranks");
    if (s->class_weight && (s->deterministic || cli_dist_size() > 1))
        return cli_usage(TRAIN_CMD, "--class-weight cannot be split over %s (the library "
                         "weighs whole batches only)",
                         s->deterministic ? "--deterministic's parts" : "MPI ranks");
    if (cli_dist_size() > 1 && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(TRAIN_CMD, "--optimizer random cannot be split over MPI ranks");

    /* Options that make no sense alone or together. */
    int sgd = s->optimizer == BP_OPTIM_SGD;
    if (!s->data)
        return cli_usage(TRAIN_CMD, "--data is required");
    if (s->momentum_set && !sgd)
        return cli_usage(TRAIN_CMD, "--momentum applies only to --optimizer sgd");
    if (s->scale_set && s->optimizer != BP_OPTIM_RANDOM)
        return cli_usage(TRAIN_CMD, "--scale applies only to --optimizer random");
    if (s->lr_set && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(TRAIN_CMD, "--lr does not apply to --optimizer random (its step is --scale)");
    if (s->nesterov && !sgd)
        return cli_usage(TRAIN_CMD, "--nesterov applies only to --optimizer sgd");
    if (s->nesterov && s->momentum_set && s->momentum == 0.0)
        return cli_usage(TRAIN_CMD, "--nesterov needs --momentum above 0");
    if (s->weight_decay_set && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(TRAIN_CMD, "--weight-decay does not apply to --optimizer random");
    if (s->gamma_set && s->schedule != BP_SCHED_STEP && s->schedule != BP_SCHED_EXPONENTIAL)
        return cli_usage(TRAIN_CMD, "--gamma applies only to --schedule step or exp");
    if (s->step_size_set && s->schedule != BP_SCHED_STEP)
        return cli_usage(TRAIN_CMD, "--step-size applies only to --schedule step");
    if (s->patience > 0 && s->val_split == 0.0)
        return cli_usage(TRAIN_CMD, "--patience needs validation rows (--val-split)");
    if (s->init && s->init_scheme >= 0)
        return cli_usage(TRAIN_CMD, "--init-scheme and --init exclude each other");
    if (s->json && s->quiet)
        return cli_usage(TRAIN_CMD, "--json and --quiet exclude each other");
    if (s->log && strcmp(s->log, s->out) == 0)
        return cli_usage(TRAIN_CMD, "--log and --out name the same file");
    if (s->report && (strcmp(s->report, s->out) == 0 || (s->log && strcmp(s->report, s->log) == 0)))
        return cli_usage(TRAIN_CMD, "--report names the same file as --out or --log");
    return CLI_OK;
}

/* --precision before any data is read: bf16 where this machine cannot run
 * it, or a checkpoint trained in another precision, is a usage error. A
 * resumed run keeps its checkpoint's precision so that it goes on bit for
 * bit. */
int train_check_precision(const settings *s)
{
    const char *want = bp_precision_name(s->precision);
    bp_error err;
    if (s->precision != BP_PRECISION_FP32 && bp_bf16_check(&err) != 0)
        return cli_usage(TRAIN_CMD, "--precision %s: %s", want, err.message);
    if (s->resume && bp_checkpoint_is(s->resume)) {
        bp_meta *meta = NULL;
        bp_net *net = bp_checkpoint_load_model(s->resume, &meta, &err);
        const char *had = meta && bp_meta_get(meta, "precision") ? bp_meta_get(meta, "precision")
                                                                   : "fp32";
        int differ = net && strcmp(had, want) != 0;
        char was[16];
        snprintf(was, sizeof was, "%s", had);
        bp_net_free(net);
        bp_meta_free(meta);
        if (differ)
            return cli_usage(TRAIN_CMD, "--resume %s was trained with --precision %s; give "
                             "--precision %s to go on from it (got %s)",
                             s->resume, was, was, want);
    }
    return CLI_OK;
}
