/*
 * cmd_train.c - `backprop train`: train a network on a data set with
 * bp_train and save it with what it takes to use and reproduce it (loss,
 * input scaling, optimizer, schedule, seed, data, final figures) in the
 * model file's metadata.
 *
 * Every figure printed is measured: the training loss and accuracy as the
 * library measured them over the epoch's batches, the validation figures
 * after the epoch, the test figures by bp_evaluate after the epoch, and the
 * times by the clock. A progress bar goes to stderr only when it is a
 * terminal; epoch lines go to stdout, thinned to a few a second when epochs
 * are fast, the first and the last always shown.
 */
#include "cli.h"
#include "model.h"
#include "progress.h"
#include "report.h"
#include "tune.h"
#include "dist.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "train";

static void help(void)
{
    printf(
        "Usage: backprop train --data SPEC [OPTIONS]\n"
        "\n"
        "Train a network by backpropagation and mini-batch gradient descent, print\n"
        "the figures of every epoch and save the model (safetensors, with the loss,\n"
        "input scaling, settings and final figures in its metadata).\n"
        "\n"
        "Data:\n"
        "  --data SPEC          training data (required): fashion-mnist[:train],\n"
        "                       fashion-mnist:test, idx:IMAGES,LABELS, spiral:N:K,\n"
        "                       vertical:N:K, xor, or PATH.csv[:label=COL]\n"
        "  --test SPEC          test data, evaluated after every epoch (default: none)\n"
        "  --val-split F        fraction of the training rows held out for validation,\n"
        "                       in [0, 1) (default: 0)\n"
        "  --standardize        scale each input to mean 0 and variance 1 over the\n"
        "                       training data (default: off; images are scaled to\n"
        "                       [0, 1] either way); the scaling is saved with the model\n"
        "\n"
        "Network:\n"
        "  --net SPEC           the network (default: I,256:relu,128:relu,C:softmax for\n"
        "                       C >= 2 classes, else I,64:relu,T:identity, with I inputs\n"
        "                       and T target columns)\n"
        "  --loss NAME          mse, mae, bce or cce (default: cce after softmax, bce\n"
        "                       after sigmoid, else mse; with --init, the model's)\n"
        "  --init-scheme NAME   he, xavier, lecun, he-uniform, xavier-uniform or\n"
        "                       lecun-uniform (default: he when the first layer is relu\n"
        "                       or leaky_relu, else xavier)\n"
        "  --init MODEL         start from this model's network, weights and scaling\n"
        "                       (default: none; fresh weights)\n"
        "  --dropout F          dropout on the hidden layers, in [0, 1) (default: 0)\n"
        "\n"
        "Optimizer:\n"
        "  --optimizer NAME     gd, sgd, rmsprop, adam, adamw or random (default: sgd)\n"
        "  --lr F               learning rate (default: 0.05 for sgd and gd, 0.001 for\n"
        "                       adam and adamw, 0.01 for rmsprop)\n"
        "  --momentum F         sgd momentum, in [0, 1) (default: 0.9)\n"
        "  --nesterov           sgd with Nesterov momentum (default: off)\n"
        "  --scale F            random: perturb every weight by F times a standard\n"
        "                       normal draw, keep it if the loss fell (default: 0.05)\n"
        "  --weight-decay F     L2 penalty; decoupled for adamw (default: 0; adamw 0.01)\n"
        "  --clip F             clip the gradient's global norm to F (default: 0, off)\n"
        "\n"
        "Schedule (one step per batch):\n"
        "  --schedule NAME      constant, step, exp or cosine (default: cosine, from --lr\n"
        "                       down to 0 over all the run's steps)\n"
        "  --warmup N           steps of linear warm-up first (default: 0)\n"
        "  --gamma F            decay factor in (0, 1]: step: per --step-size steps\n"
        "                       (default: 0.1); exp: per step (default: the factor that\n"
        "                       takes the rate to 1/100 of --lr over the run)\n"
        "  --step-size N        step: steps between decays (default: a third of the run)\n"
        "\n"
        "Run:\n"
        "  --batch N            rows per batch; 0 for the whole set (default: 128)\n"
        "  --epochs N           passes over the training data (default: 10)\n"
        "  --seed N             seed of the weights, the shuffling, the validation split,\n"
        "                       dropout and synthetic data; a synthetic --test set is\n"
        "                       drawn with N + 1 (default: 1)\n"
        "  --no-shuffle         keep the rows in file order (default: reshuffle every\n"
        "                       epoch; a full batch is never shuffled)\n"
        "  --patience N         stop after N epochs without a better validation loss and\n"
        "                       keep the best weights; needs --val-split (default: 0, off)\n"
        "  --threads N          threads for the arithmetic; the results do not depend on\n"
        "                       it (default: 1 or all of OMP_NUM_THREADS, else of the\n"
        "                       cores, whichever measures faster, measured again every\n"
        "                       few seconds; with a full batch, all; under mpirun, the\n"
        "                       machine's cores / its ranks)\n");
    printf(
        "  --deterministic      cut every batch into --parts fixed parts and add their\n"
        "                       gradients in part order, so that a run over any number\n"
        "                       of MPI ranks (up to the parts) gives the same bits as\n"
        "                       one process (default: off; under mpirun, each rank\n"
        "                       takes an equal share of the batch and MPI adds them)\n"
        "  --parts N            parts per batch with --deterministic (default: 12)\n"
        "\n");
    printf(
        "Output:\n"
        "  --out MODEL          where to save the model (default: model.safetensors)\n"
        "  --log FILE.csv       write the figures of every epoch as CSV (default: none)\n"
        "  --report FILE.html   write a training report: curves, rate, confusion matrix,\n"
        "                       the most confidently wrong samples, per-layer norms and\n"
        "                       the settings, as one self-contained page (default: none)\n"
        "  --json               print one JSON object at the end and nothing else\n"
        "                       (default: off)\n"
        "  --quiet              print only errors (default: off)\n"
        "  --checkpoint FILE    save the whole training state to FILE (atomically) at the\n"
        "                       end of every epoch's batches, and on Ctrl-C (default: none)\n"
        "  --checkpoint-every N save it every N optimizer steps instead (default: 0, per\n"
        "                       epoch)\n"
        "  --resume FILE        go on from a checkpoint, bit for bit as if never stopped;\n"
        "                       give the same options as the run that wrote it\n"
        "                       (default: none)\n"
        "  -h, --help           show this help\n"
        "\n"
        "Exit status: 0 on success; 1 on a runtime error, or when a non-finite loss or\n"
        "gradient stopped training (the last good weights are saved); 2 on bad usage;\n"
        "130 when Ctrl-C stopped it after a batch (no model is written then).\n");
}

/* ---- settings ----------------------------------------------------------- */

typedef struct settings {
    const char *data, *test, *net, *loss, *init, *out, *log, *report;
    const char *checkpoint, *resume;
    long checkpoint_every;
    double val_split, lr, momentum, weight_decay, gamma, clip, dropout, scale;
    long warmup, step_size, batch, epochs, patience, threads;
    long parts;            /* --deterministic's parts; 0 without it */
    int deterministic, parts_set;
    uint64_t seed;
    bp_optim_kind optimizer;
    bp_schedule_kind schedule;
    int init_scheme; /* a bp_init, or -1 for the default */
    int nesterov, no_shuffle, standardize, json, quiet;
    /* given explicitly */
    int lr_set, momentum_set, weight_decay_set, gamma_set, step_size_set, scale_set;
} settings;

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

static const char *scheme_name(int scheme)
{
    for (int i = 0; i < N_SCHEMES; i++)
        if ((int)init_schemes[i].scheme == scheme)
            return init_schemes[i].name;
    return "?";
}

/* A number in [0, 1). */
static int parse_fraction(const char *opt, const char *arg, double *out)
{
    if (cli_parse_nonneg(opt, arg, out) != 0)
        return CLI_USAGE;
    if (!(*out < 1.0)) {
        cli_error("%s: expected a number in [0, 1), got '%s'", opt, arg);
        return CLI_USAGE;
    }
    return 0;
}

enum {
    OPT_DATA = 256, OPT_TEST, OPT_VAL_SPLIT, OPT_NET, OPT_LOSS, OPT_OPTIMIZER, OPT_LR,
    OPT_MOMENTUM, OPT_NESTEROV, OPT_WEIGHT_DECAY, OPT_SCHEDULE, OPT_WARMUP, OPT_GAMMA,
    OPT_STEP_SIZE, OPT_BATCH, OPT_EPOCHS, OPT_SEED, OPT_NO_SHUFFLE, OPT_PATIENCE, OPT_CLIP,
    OPT_DROPOUT, OPT_STANDARDIZE, OPT_INIT_SCHEME, OPT_INIT, OPT_OUT, OPT_LOG, OPT_JSON,
    OPT_QUIET, OPT_SCALE, OPT_REPORT, OPT_THREADS, OPT_CHECKPOINT, OPT_CHECKPOINT_EVERY,
    OPT_RESUME, OPT_DETERMINISTIC, OPT_PARTS
};

static const struct option longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"test", required_argument, NULL, OPT_TEST},
    {"val-split", required_argument, NULL, OPT_VAL_SPLIT},
    {"net", required_argument, NULL, OPT_NET},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"nesterov", no_argument, NULL, OPT_NESTEROV},
    {"scale", required_argument, NULL, OPT_SCALE},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {"schedule", required_argument, NULL, OPT_SCHEDULE},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"gamma", required_argument, NULL, OPT_GAMMA},
    {"step-size", required_argument, NULL, OPT_STEP_SIZE},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"no-shuffle", no_argument, NULL, OPT_NO_SHUFFLE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"patience", required_argument, NULL, OPT_PATIENCE},
    {"clip", required_argument, NULL, OPT_CLIP},
    {"dropout", required_argument, NULL, OPT_DROPOUT},
    {"standardize", no_argument, NULL, OPT_STANDARDIZE},
    {"init-scheme", required_argument, NULL, OPT_INIT_SCHEME},
    {"init", required_argument, NULL, OPT_INIT},
    {"out", required_argument, NULL, OPT_OUT},
    {"log", required_argument, NULL, OPT_LOG},
    {"report", required_argument, NULL, OPT_REPORT},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"deterministic", no_argument, NULL, OPT_DETERMINISTIC},
    {"parts", required_argument, NULL, OPT_PARTS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* One option's value into s; 0 or CLI_USAGE (printed). */
static int parse_option(int c, const char *arg, settings *s)
{
    bp_loss loss;
    switch (c) {
    case OPT_DATA:
        s->data = arg;
        return 0;
    case OPT_TEST:
        s->test = arg;
        return 0;
    case OPT_NET:
        s->net = arg;
        return 0;
    case OPT_INIT:
        s->init = arg;
        return 0;
    case OPT_OUT:
        s->out = arg;
        return 0;
    case OPT_LOG:
        s->log = arg;
        return 0;
    case OPT_REPORT:
        s->report = arg;
        return 0;
    case OPT_LOSS:
        s->loss = arg;
        return cli_parse_loss("--loss", arg, NULL, &loss);
    case OPT_VAL_SPLIT:
        return parse_fraction("--val-split", arg, &s->val_split);
    case OPT_OPTIMIZER:
        if (bp_optim_parse(arg, &s->optimizer) == 0)
            return 0;
        cli_error("--optimizer: unknown optimizer '%s' (expected gd, sgd, rmsprop, adam, adamw "
                  "or random)", arg);
        return CLI_USAGE;
    case OPT_LR:
        s->lr_set = 1;
        return cli_parse_positive("--lr", arg, &s->lr);
    case OPT_MOMENTUM:
        s->momentum_set = 1;
        return parse_fraction("--momentum", arg, &s->momentum);
    case OPT_NESTEROV:
        s->nesterov = 1;
        return 0;
    case OPT_SCALE:
        s->scale_set = 1;
        return cli_parse_positive("--scale", arg, &s->scale);
    case OPT_WEIGHT_DECAY:
        s->weight_decay_set = 1;
        return cli_parse_nonneg("--weight-decay", arg, &s->weight_decay);
    case OPT_SCHEDULE:
        if (bp_schedule_parse(arg, &s->schedule) == 0)
            return 0;
        cli_error("--schedule: unknown schedule '%s' (expected constant, step, exp or cosine)",
                  arg);
        return CLI_USAGE;
    case OPT_WARMUP:
        return cli_parse_int("--warmup", arg, 0, LONG_MAX, &s->warmup);
    case OPT_GAMMA:
        s->gamma_set = 1;
        if (cli_parse_positive("--gamma", arg, &s->gamma) != 0)
            return CLI_USAGE;
        if (s->gamma <= 1.0)
            return 0;
        cli_error("--gamma: expected a number in (0, 1], got '%s'", arg);
        return CLI_USAGE;
    case OPT_STEP_SIZE:
        s->step_size_set = 1;
        return cli_parse_int("--step-size", arg, 1, LONG_MAX, &s->step_size);
    case OPT_BATCH:
        return cli_parse_int("--batch", arg, 0, 1L << 30, &s->batch);
    case OPT_EPOCHS:
        return cli_parse_int("--epochs", arg, 1, INT_MAX, &s->epochs);
    case OPT_SEED:
        return cli_parse_seed("--seed", arg, &s->seed);
    case OPT_NO_SHUFFLE:
        s->no_shuffle = 1;
        return 0;
    case OPT_THREADS:
        return cli_parse_int("--threads", arg, 1, 1024, &s->threads);
    case OPT_PATIENCE:
        return cli_parse_int("--patience", arg, 0, INT_MAX, &s->patience);
    case OPT_CLIP:
        return cli_parse_nonneg("--clip", arg, &s->clip);
    case OPT_DROPOUT:
        return parse_fraction("--dropout", arg, &s->dropout);
    case OPT_STANDARDIZE:
        s->standardize = 1;
        return 0;
    case OPT_INIT_SCHEME:
        for (int i = 0; i < N_SCHEMES; i++)
            if (strcmp(arg, init_schemes[i].name) == 0) {
                s->init_scheme = (int)init_schemes[i].scheme;
                return 0;
            }
        cli_error("--init-scheme: unknown scheme '%s' (expected he, xavier, lecun, he-uniform, "
                  "xavier-uniform or lecun-uniform)", arg);
        return CLI_USAGE;
    case OPT_JSON:
        s->json = 1;
        return 0;
    case OPT_CHECKPOINT:
        s->checkpoint = arg;
        return 0;
    case OPT_CHECKPOINT_EVERY:
        return cli_parse_int("--checkpoint-every", arg, 0, LONG_MAX, &s->checkpoint_every);
    case OPT_RESUME:
        s->resume = arg;
        return 0;
    case OPT_DETERMINISTIC:
        s->deterministic = 1;
        return 0;
    case OPT_PARTS:
        s->parts_set = 1;
        return cli_parse_int("--parts", arg, 1, 1 << 20, &s->parts);
    case OPT_QUIET:
        s->quiet = 1;
        return 0;
    default:
        return CLI_USAGE;
    }
}

/* Parse the command line into s: CLI_OK, CLI_USAGE (printed), or -1 after
 * --help. */
static int parse_options(int argc, char **argv, settings *s)
{
    int c;
    memset(s, 0, sizeof *s);
    s->optimizer = BP_OPTIM_SGD;
    s->schedule = BP_SCHED_COSINE;
    s->init_scheme = -1;
    s->batch = 128;
    s->epochs = 10;
    s->seed = 1;
    s->out = "model.safetensors";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            help();
            return -1;
        }
        if (c == '?' || c == ':')
            return cli_bad_option(CMD, c, argv);
        if (parse_option(c, optarg, s) != 0)
            return CLI_USAGE;
    }
    if (cli_no_operands(CMD, argc, argv))
        return CLI_USAGE;
    if (s->checkpoint_every > 0 && !s->checkpoint)
        return cli_usage(CMD, "--checkpoint-every needs --checkpoint");
    if ((s->checkpoint || s->resume) && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(CMD, "--checkpoint and --resume do not apply to --optimizer random");
    if (s->parts_set && !s->deterministic)
        return cli_usage(CMD, "--parts applies only with --deterministic");
    if (!s->deterministic)
        s->parts = 0;
    else if (!s->parts_set)
        s->parts = 12;
    if (s->parts > 0 && s->parts < cli_dist_size())
        return cli_usage(CMD, "--parts %ld is fewer than the %d MPI ranks (each computes at "
                         "least one part)", s->parts, cli_dist_size());
    if (s->deterministic && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(CMD, "--deterministic does not apply to --optimizer random");
    if ((s->deterministic || cli_dist_size() > 1) && s->dropout > 0.0)
        return cli_usage(CMD, "--dropout cannot be split over %s (the masks would differ)",
                         s->deterministic ? "--deterministic's parts" : "MPI ranks");
    if (cli_dist_size() > 1 && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(CMD, "--optimizer random cannot be split over MPI ranks");

    /* Options that make no sense alone or together. */
    int sgd = s->optimizer == BP_OPTIM_SGD;
    if (!s->data)
        return cli_usage(CMD, "--data is required");
    if (s->momentum_set && !sgd)
        return cli_usage(CMD, "--momentum applies only to --optimizer sgd");
    if (s->scale_set && s->optimizer != BP_OPTIM_RANDOM)
        return cli_usage(CMD, "--scale applies only to --optimizer random");
    if (s->lr_set && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(CMD, "--lr does not apply to --optimizer random (its step is --scale)");
    if (s->nesterov && !sgd)
        return cli_usage(CMD, "--nesterov applies only to --optimizer sgd");
    if (s->nesterov && s->momentum_set && s->momentum == 0.0)
        return cli_usage(CMD, "--nesterov needs --momentum above 0");
    if (s->weight_decay_set && s->optimizer == BP_OPTIM_RANDOM)
        return cli_usage(CMD, "--weight-decay does not apply to --optimizer random");
    if (s->gamma_set && s->schedule != BP_SCHED_STEP && s->schedule != BP_SCHED_EXPONENTIAL)
        return cli_usage(CMD, "--gamma applies only to --schedule step or exp");
    if (s->step_size_set && s->schedule != BP_SCHED_STEP)
        return cli_usage(CMD, "--step-size applies only to --schedule step");
    if (s->patience > 0 && s->val_split == 0.0)
        return cli_usage(CMD, "--patience needs validation rows (--val-split)");
    if (s->init && s->init_scheme >= 0)
        return cli_usage(CMD, "--init-scheme and --init exclude each other");
    if (s->json && s->quiet)
        return cli_usage(CMD, "--json and --quiet exclude each other");
    if (s->log && strcmp(s->log, s->out) == 0)
        return cli_usage(CMD, "--log and --out name the same file");
    if (s->report && (strcmp(s->report, s->out) == 0 || (s->log && strcmp(s->report, s->log) == 0)))
        return cli_usage(CMD, "--report names the same file as --out or --log");
    return CLI_OK;
}

/* ---- the callbacks ------------------------------------------------------ */

/* What the callbacks share. */
typedef struct session {
    bp_net *net;
    bp_loss loss;
    const bp_dataset *test;
    int val;              /* validation rows are held out */
    int random;           /* the optimizer is random search */
    cli_progress progress;
    cli_epoch best;       /* the epoch of the best validation loss */
    int failed;           /* a callback failed (printed) and stopped training */
    int report;           /* record the norms for --report */
    cli_norms norms;      /* per-layer norms after every epoch */
    double startup;       /* seconds from process start to the end of the first batch */
    cli_tune tune;        /* the thread count, by measured speed, unless --threads */
    const char *checkpoint; /* --checkpoint */
    int at_epoch;         /* the last batch run */
    long at_batch;
} session;

static int on_batch(int epoch, long batch, long batches, double loss, void *ctx)
{
    session *ss = ctx;
    if (ss->startup == 0.0)
        ss->startup = cli_process_seconds();
    cli_progress_batch(&ss->progress, epoch, batch, batches, loss);
    cli_tune_batch(&ss->tune);
    ss->at_epoch = epoch;
    ss->at_batch = batch;
    return cli_interrupted();
}

static int on_checkpoint(const bp_train_state *state, void *ctx)
{
    session *ss = ctx;
    if (cli_checkpoint_write(ss->checkpoint, state) != 0) {
        ss->failed = 1;
        return 1;
    }
    return 0;
}

/* After every epoch: measure the test data, then report. */
static int on_epoch(const bp_epoch_stats *st, void *ctx)
{
    session *ss = ctx;
    cli_epoch e = {.epoch = st->epoch, .loss = st->train_loss, .lr = st->lr,
                   .seconds = st->seconds,
                   .samples_per_s = st->train_seconds > 0.0
                                        ? (double)ss->progress.rows / st->train_seconds
                                        : NAN};
    bp_error err;
    /* Random search measures no accuracy on its batches (it reports 0). */
    if (st->train_accuracy >= 0.0 && !ss->random) {
        e.has |= CLI_HAS_ACC;
        e.accuracy = st->train_accuracy;
    }
    if (ss->val) {
        e.has |= CLI_HAS_VAL | (st->val_accuracy >= 0.0 ? CLI_HAS_VAL_ACC : 0u);
        e.val_loss = st->val_loss;
        e.val_accuracy = st->val_accuracy;
    }
    if (ss->test) {
        double acc, t0 = cli_now();
        if (bp_evaluate(ss->net, ss->test, ss->loss, &e.test_loss, &acc, &err) != 0) {
            cli_progress_clear(&ss->progress);
            cli_error("evaluating the test data: %s", err.message);
            ss->failed = 1;
            return 1;
        }
        e.has |= CLI_HAS_TEST | (acc >= 0.0 ? CLI_HAS_TEST_ACC : 0u);
        e.test_accuracy = acc;
        e.seconds += cli_now() - t0;
    }
    if (cli_progress_epoch(&ss->progress, &e) != 0) {
        ss->failed = 1;
        return 1;
    }
    if (ss->report && cli_norms_add(&ss->norms, st->epoch, ss->net, st->layer_grad_norm) != 0) {
        ss->failed = 1;
        return 1;
    }
    if (st->best)
        ss->best = e;
    cli_tune_epoch(&ss->tune);
    return 0;
}

/* ---- preparing the run -------------------------------------------------- */

/* Everything one run holds. */
typedef struct job {
    settings s;
    cli_model init;        /* --init's model; its network moves to net */
    bp_dataset *train, *test;
    bp_net *net;
    bp_loss loss;
    float *scale;          /* (2, I): the training data's shift, then mul */
    int scheme;            /* the bp_init used; -1 with --init */
    bp_train_opts opts;
    bp_train_result res;
    session ss;
} job;

/* Whether ds fits net under loss (the rule bp_train applies); when not,
 * prints why and returns 1. */
static int misfit(const char *prefix, const bp_net *net, bp_loss loss, const bp_dataset *ds,
                  const char *what)
{
    int I = bp_net_inputs(net), O = bp_net_outputs(net), inputs = bp_dataset_inputs(ds);
    int T = bp_dataset_target_cols(ds), C = bp_dataset_classes(ds);
    if (inputs != I) {
        cli_error("%sthe %s data have %d input%s; the network takes %d", prefix, what, inputs,
                  inputs == 1 ? "" : "s", I);
        return 1;
    }
    if (loss == BP_LOSS_CCE && O > 1 && T == 1) {
        if (C <= 0) {
            cli_error("%sthe %s data have numeric targets; cce on %d outputs needs class labels",
                      prefix, what, O);
            return 1;
        }
        if (C > O) {
            cli_error("%sthe %s data have %d classes; the network has %d outputs", prefix, what,
                      C, O);
            return 1;
        }
    } else if (T != O) {
        cli_error("%sthe %s data have %d target column%s; the network has %d output%s (loss %s)",
                  prefix, what, T, T == 1 ? "" : "s", O, O == 1 ? "" : "s", bp_loss_name(loss));
        return 1;
    }
    return 0;
}

/* --net against --init's network: the same canonical spec, or a usage error. */
static int same_net(const char *spec, const char *path, const bp_net *model)
{
    char a[1024], b[1024];
    bp_net *net = cli_parse_net("--net", spec);
    int rc = CLI_USAGE;
    if (!net)
        return rc;
    bp_net_spec(net, a, sizeof a);
    bp_net_spec(model, b, sizeof b);
    if (strcmp(a, b) == 0)
        rc = CLI_OK;
    else
        cli_usage(CMD, "--net %s disagrees with the network of %s (%s)", a, path, b);
    bp_net_free(net);
    return rc;
}

/* The training data's scaling: --init's model's, or standardized, or the
 * data's own; the test data get the same. */
static int scale_data(job *j)
{
    int I = bp_dataset_inputs(j->train), lib;
    if (j->init.net) {
        if (j->s.standardize && bp_meta_get(j->init.meta, "scaling"))
            return cli_usage(CMD, "--standardize: the model given to --init has its own input "
                                  "scaling");
        if (cli_model_scale(&j->init, j->train) != 0)
            return CLI_RUNTIME;
    }
    if (j->s.standardize && (lib = bp_dataset_standardize(j->train)) != 0) {
        cli_error("--standardize: %s", bp_strerror(lib));
        return CLI_RUNTIME;
    }
    if (!(j->scale = malloc(2 * (size_t)I * sizeof *j->scale))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    if ((lib = bp_dataset_get_scaling(j->train, j->scale, j->scale + I)) != 0) {
        cli_error("the training data's scaling: %s", bp_strerror(lib));
        return CLI_RUNTIME;
    }
    if (!j->test)
        return CLI_OK;
    if (bp_dataset_inputs(j->test) != I) {
        cli_error("--test: the test data have %d inputs; the training data have %d",
                  bp_dataset_inputs(j->test), I);
        return CLI_RUNTIME;
    }
    if ((lib = bp_dataset_set_scaling(j->test, j->scale, j->scale + I)) != 0) {
        cli_error("--test: %s", bp_strerror(lib));
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

/* The network: --init's, --net's, or the default for the data. */
static int make_net(job *j)
{
    char spec[128];
    int I = bp_dataset_inputs(j->train), C = bp_dataset_classes(j->train);
    if (j->init.net) {
        j->net = j->init.net;
        j->init.net = NULL;
        return CLI_OK;
    }
    if (j->s.net)
        return (j->net = cli_parse_net("--net", j->s.net)) ? CLI_OK : CLI_USAGE;
    if (C >= 2)
        snprintf(spec, sizeof spec, "%d,256:relu,128:relu,%d:softmax", I, C);
    else
        snprintf(spec, sizeof spec, "%d,64:relu,%d:identity", I,
                 bp_dataset_target_cols(j->train));
    return (j->net = cli_parse_net("the default network", spec)) ? CLI_OK : CLI_RUNTIME;
}

/* Load, scale and check everything the run needs; fresh weights unless
 * --init. */
static int prepare(job *j)
{
    const settings *s = &j->s;
    int rc, explicit_net = s->net && !s->init;
    char prefix[64] = "";
    if (cli_check_writable("--out", s->out) != 0 ||
        (s->log && cli_check_writable("--log", s->log) != 0) ||
        (s->checkpoint && cli_check_writable("--checkpoint", s->checkpoint) != 0) ||
        (s->report && cli_check_writable("--report", s->report) != 0))
        return CLI_RUNTIME;
    if (s->init) {
        if ((rc = cli_model_load(s->init, &j->init)) != 0 ||
            (s->net && (rc = same_net(s->net, s->init, j->init.net)) != 0) ||
            (rc = cli_model_loss(&j->init, s->loss, &j->loss)) != 0)
            return rc;
    }
    if (!(j->train = cli_data_load(s->data, s->seed)) ||
        (s->test && !(j->test = cli_data_load(s->test, s->seed + 1))))
        return CLI_RUNTIME;
    if ((rc = scale_data(j)) != 0 || (rc = make_net(j)) != 0)
        return rc;
    if (!s->init && (rc = cli_parse_loss("--loss", s->loss, j->net, &j->loss)) != 0)
        return rc;
    if (explicit_net)
        snprintf(prefix, sizeof prefix, "--net: ");
    if (misfit(prefix, j->net, j->loss, j->train, "training"))
        return explicit_net ? CLI_USAGE : CLI_RUNTIME;
    if (j->test && misfit("--test: ", j->net, j->loss, j->test, "test"))
        return CLI_RUNTIME;
    j->scheme = -1;
    if (!s->init) {
        bp_act first = bp_net_layer(j->net, 0).act;
        bp_rng rng;
        int lib;
        /* He for rectifiers, Xavier for the squashing activations. */
        if (s->init_scheme >= 0)
            j->scheme = s->init_scheme;
        else if (first == BP_ACT_RELU || first == BP_ACT_LEAKY_RELU)
            j->scheme = BP_INIT_HE_NORMAL;
        else
            j->scheme = BP_INIT_XAVIER_NORMAL;
        bp_rng_seed(&rng, s->seed);
        if ((lib = bp_net_init(j->net, &rng, (bp_init)j->scheme, 0.0)) != 0)
            return cli_lib_error("initialising the network", lib, j->net);
    }
    return CLI_OK;
}

static double default_lr(bp_optim_kind kind)
{
    switch (kind) {
    case BP_OPTIM_GD:
    case BP_OPTIM_SGD:
        return 0.05;
    case BP_OPTIM_ADAM:
    case BP_OPTIM_ADAMW:
        return 0.001;
    default:
        return 0.01;
    }
}

/* The training options, the schedule sized to the run's steps. */
static int configure(job *j)
{
    const settings *s = &j->s;
    bp_train_opts *o = &j->opts;
    bp_error err;
    size_t rows = bp_dataset_rows(j->train);
    size_t n_train = rows - (size_t)floor(s->val_split * (double)rows);
    long B = s->batch == 0 || (size_t)s->batch > n_train ? (long)n_train : s->batch;
    long batches = B > 0 ? (long)((n_train + (size_t)B - 1) / (size_t)B) : 1;
    long total = s->epochs > LONG_MAX / batches ? LONG_MAX : s->epochs * batches;
    long steps = total - s->warmup > 1 ? total - s->warmup : 1; /* after the warm-up */

    *o = bp_train_defaults();
    o->loss = j->loss;
    o->epochs = (int)s->epochs;
    o->batch = (int)s->batch;
    o->shuffle = !s->no_shuffle;
    o->seed = s->seed;
    o->optim = bp_optim_defaults(s->optimizer);
    o->optim.lr = s->lr_set ? s->lr : default_lr(s->optimizer);
    if (s->optimizer == BP_OPTIM_SGD) {
        o->optim.momentum = s->momentum_set ? s->momentum : 0.9;
        o->optim.nesterov = s->nesterov;
    }
    if (s->weight_decay_set)
        o->optim.weight_decay = s->weight_decay;
    if (s->scale_set)
        o->optim.scale = s->scale;
    o->schedule.kind = s->schedule;
    o->schedule.base = o->optim.lr;
    o->schedule.warmup = s->warmup;
    o->schedule.total = steps;
    o->schedule.min_lr = 0.0;
    if (s->gamma_set)
        o->schedule.gamma = s->gamma;
    else if (s->schedule == BP_SCHED_EXPONENTIAL)
        o->schedule.gamma = pow(0.01, 1.0 / (double)steps);
    else
        o->schedule.gamma = 0.1;
    o->schedule.step_size = s->step_size_set ? s->step_size : steps >= 3 ? steps / 3 : 1;
    if (bp_schedule_check(&o->schedule, &err) != 0) {
        cli_error("--schedule: %s", err.message);
        return CLI_RUNTIME;
    }
    o->val_split = s->val_split;
    o->patience = (int)s->patience;
    o->clip_norm = s->clip;
    o->norms = s->report != NULL; /* only the report shows them */
    o->dropout = s->dropout;
    o->on_epoch = on_epoch;
    o->on_batch = on_batch;
    o->ctx = &j->ss;
    if (s->checkpoint) {
        o->on_checkpoint = on_checkpoint;
        o->checkpoint_every = s->checkpoint_every;
        j->ss.checkpoint = s->checkpoint;
    }
    j->ss.net = j->net;
    j->ss.loss = j->loss;
    j->ss.test = j->test;
    j->ss.val = s->val_split > 0.0;
    j->ss.report = s->report != NULL;
    j->ss.random = s->optimizer == BP_OPTIM_RANDOM;
    /* Alone, the thread count follows measured speed unless given; a rank
     * of several keeps what its share of the cores gives it. A full batch
     * keeps every thread: the windows the tuning times are runs of batches
     * inside an epoch. */
    cli_tune_init(&j->ss.tune,
                  s->threads > 0 || cli_dist_size() > 1 || (size_t)B >= n_train ? 1 : bp_threads());
    cli_progress_init(&j->ss.progress, o->epochs, n_train, B, !s->quiet && !s->json,
                      !s->quiet && !s->json, s->log || s->json || s->report);
    return CLI_OK;
}

/* ---- what is saved ------------------------------------------------------ */

/* A metadata entry; key and value are copied. */
static int put(bp_meta *meta, const char *key, const char *value)
{
    if (bp_meta_set(meta, key, value) != 0) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

static int put_json(bp_meta *meta, const char *key, const cli_jtext *j)
{
    if (j->over) {
        cli_error("the metadata entry '%s' is too long", key);
        return CLI_RUNTIME;
    }
    return put(meta, key, j->buf);
}

static int put_long(bp_meta *meta, const char *key, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    return put(meta, key, num);
}

/* The optimizer's settings and the schedule, as JSON texts. */
static int put_settings(bp_meta *meta, const bp_optim_opts *o, const bp_schedule *sc)
{
    cli_jtext j = {.len = 0};
    char b1[32], b2[32];
    int rc;
    cli_jt_add(&j, "{");
    if (o->kind == BP_OPTIM_RANDOM) {
        cli_jt_num(&j, "scale", o->scale);
    } else {
        cli_jt_num(&j, "lr", o->lr);
        if (o->kind == BP_OPTIM_SGD) {
            cli_jt_num(&j, "momentum", o->momentum);
            cli_jt_add(&j, ", \"nesterov\": %s", o->nesterov ? "true" : "false");
        } else if (o->kind == BP_OPTIM_RMSPROP) {
            cli_jt_num(&j, "alpha", o->alpha);
            cli_jt_num(&j, "eps", o->eps);
        } else if (o->kind == BP_OPTIM_ADAM || o->kind == BP_OPTIM_ADAMW) {
            cli_jt_add(&j, ", \"betas\": [%s, %s]", cli_num(b1, o->beta1), cli_num(b2, o->beta2));
            cli_jt_num(&j, "eps", o->eps);
        }
        cli_jt_num(&j, "weight_decay", o->weight_decay);
    }
    cli_jt_add(&j, "}");
    if ((rc = put(meta, "optimizer", bp_optim_name(o->kind))) != 0 ||
        (rc = put_json(meta, "optimizer_settings", &j)) != 0)
        return rc;

    j.len = 0;
    cli_jt_add(&j, "{\"kind\": \"%s\"", bp_schedule_name(sc->kind));
    cli_jt_num(&j, "base", sc->base);
    if (sc->kind == BP_SCHED_STEP || sc->kind == BP_SCHED_EXPONENTIAL)
        cli_jt_num(&j, "gamma", sc->gamma);
    if (sc->kind == BP_SCHED_STEP)
        cli_jt_num(&j, "step_size", (double)sc->step_size);
    if (sc->kind == BP_SCHED_COSINE) {
        cli_jt_num(&j, "total", (double)sc->total);
        cli_jt_num(&j, "min_lr", sc->min_lr);
    }
    cli_jt_num(&j, "warmup", (double)sc->warmup);
    cli_jt_add(&j, "}");
    return put_json(meta, "schedule", &j);
}

/* The figures of the weights being saved: those of the epoch they come
 * from, or measured now when training stopped inside an epoch. */
static int final_figures(job *j, cli_jtext *out)
{
    const bp_train_result *res = &j->res;
    bp_error err;
    out->len = 0;
    out->over = 0;
    if (res->nonfinite && (res->bad_batch > 1 || res->epochs_run == 0)) {
        cli_epoch m = {.epoch = 0};
        double acc;
        if (bp_evaluate(j->net, j->train, j->loss, &m.loss, &acc, &err) != 0 ||
            (j->test && bp_evaluate(j->net, j->test, j->loss, &m.test_loss, &m.test_accuracy,
                                    &err) != 0)) {
            cli_error("%s", err.message);
            return CLI_RUNTIME;
        }
        m.accuracy = acc;
        m.has = (acc >= 0.0 ? CLI_HAS_ACC : 0u) | (j->test ? CLI_HAS_TEST : 0u) |
                (j->test && m.test_accuracy >= 0.0 ? CLI_HAS_TEST_ACC : 0u);
        cli_jt_add(out, "{\"stopped_epoch\": %d, \"stopped_batch\": %ld", res->bad_epoch,
                   res->bad_batch);
        cli_jt_epoch(out, &m);
        cli_jt_add(out, "}");
    } else if (res->epochs_run > 0) {
        /* Early stopping put back the weights of the best epoch. */
        int best = !res->nonfinite && j->s.patience > 0 && res->best_epoch > 0;
        const cli_epoch *r = best ? &j->ss.best : &j->ss.progress.last;
        cli_jt_add(out, "{\"epoch\": %d", r->epoch);
        cli_jt_epoch(out, r);
        cli_jt_add(out, "}");
    }
    return CLI_OK;
}

/* What the run leaves in the model file besides the weights. */
static int build_meta(const job *j, const cli_jtext *final, bp_meta *meta)
{
    const settings *s = &j->s;
    char num[32];
    int I = bp_dataset_inputs(j->train), rc;
    if ((rc = put(meta, "loss", bp_loss_name(j->loss))) != 0)
        return rc;
    if (bp_meta_set_scaling(meta, I, j->scale, j->scale + I) != 0) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->seed);
    if ((rc = put_settings(meta, &j->opts.optim, &j->opts.schedule)) != 0 ||
        (rc = put(meta, "seed", num)) != 0 ||
        (rc = put_long(meta, "batch", s->batch)) != 0 ||
        (rc = put_long(meta, "epochs", j->res.epochs_run)) != 0)
        return rc;
    if ((s->no_shuffle && (rc = put(meta, "shuffle", "false")) != 0) ||
        (s->val_split > 0.0 && (rc = put(meta, "val_split", cli_num(num, s->val_split))) != 0) ||
        (s->patience > 0 && (rc = put_long(meta, "patience", s->patience)) != 0) ||
        (s->clip > 0.0 && (rc = put(meta, "clip", cli_num(num, s->clip))) != 0) ||
        (s->dropout > 0.0 && (rc = put(meta, "dropout", cli_num(num, s->dropout))) != 0) ||
        (s->parts > 0 && (rc = put_long(meta, "deterministic_parts", s->parts)) != 0) ||
        (s->init && (rc = put(meta, "init", s->init)) != 0) ||
        (!s->init && (rc = put(meta, "init_scheme", scheme_name(j->scheme))) != 0))
        return rc;
    if ((rc = put(meta, "data", bp_dataset_describe(j->train))) != 0 ||
        (j->test && (rc = put(meta, "test_data", bp_dataset_describe(j->test))) != 0) ||
        (final->len > 0 && (rc = put_json(meta, "final_metrics", final)) != 0))
        return rc;
    return put(meta, "created_by", "backprop train");
}

static void print_json(const job *j, const char *model, const char *log)
{
    const bp_train_result *res = &j->res;
    printf("{\"epochs\": ");
    cli_progress_json(&j->ss.progress, stdout);
    if (model) {
        printf(", \"model\": ");
        cli_json_string(stdout, model);
    }
    if (log) {
        printf(", \"log\": ");
        cli_json_string(stdout, log);
    }
    if (res->nonfinite) {
        printf(", \"stopped\": \"nonfinite\", \"stopped_epoch\": %d, \"stopped_batch\": %ld",
               res->bad_epoch, res->bad_batch);
        if (res->bad_layer >= 0)
            printf(", \"stopped_layer\": %d", res->bad_layer);
    } else if (res->early_stopped) {
        printf(", \"stopped\": \"early\"");
    }
    if (res->best_epoch > 0)
        printf(", \"best_epoch\": %d", res->best_epoch);
    printf(", \"threads\": %d, \"gemm\": \"%s\"", bp_threads(), bp_gemm_backend());
    if (isfinite(j->ss.startup)) {
        printf(", \"startup_seconds\": ");
        cli_json_number(stdout, j->ss.startup);
    }
    printf("}\n");
}

/* ---- the command ---------------------------------------------------------- */

static void print_header(const job *j)
{
    char spec[1024], batch[32] = "full batch";
    if (j->s.batch > 0)
        snprintf(batch, sizeof batch, "batch %ld", j->s.batch);
    bp_net_spec(j->net, spec, sizeof spec);
    printf("training %s (%zu parameters) on %s\n", spec, bp_net_param_count(j->net),
           bp_dataset_describe(j->train));
    if (j->opts.optim.kind == BP_OPTIM_RANDOM)
        printf("loss %s, random search with scale %g, %s, %ld epochs, seed %llu\n",
               bp_loss_name(j->loss), j->opts.optim.scale, batch, j->s.epochs,
               (unsigned long long)j->s.seed);
    else
        printf("loss %s, optimizer %s, lr %g, %s schedule, %s, %ld epochs, seed %llu\n",
               bp_loss_name(j->loss), bp_optim_name(j->opts.optim.kind), j->opts.optim.lr,
               bp_schedule_name(j->opts.schedule.kind), batch, j->s.epochs,
               (unsigned long long)j->s.seed);
    if (j->ss.tune.max > 1)
        printf("1 or %d threads, whichever measures faster, matrix products by %s\n",
               j->ss.tune.max, bp_gemm_backend());
    else
        printf("%d thread%s, matrix products by %s\n", bp_threads(),
               bp_threads() == 1 ? "" : "s", bp_gemm_backend());
    cli_dist_header((int)j->s.parts);
    fflush(stdout);
}

/* The --report page: the kept epochs and norms, the schedule's rate of
 * every step, the confusion matrix on the test data (else the training
 * data), the settings from the model's metadata. */
static int write_report(const job *j, const bp_meta *meta)
{
    cli_report r = {.origin = "Figures measured during training by backprop train.",
                    .net = j->net, .loss = j->loss, .meta = meta};
    r.epochs = j->ss.progress.all;
    r.n_epochs = j->ss.progress.n;
    r.schedule = j->opts.optim.kind == BP_OPTIM_RANDOM ? NULL : &j->opts.schedule;
    r.steps = j->res.steps;
    r.norms = &j->ss.norms;
    if (j->opts.optim.kind == BP_OPTIM_RANDOM)
        r.norms_note = "Random search takes no gradients: only the weight norms are shown.";
    r.eval = j->test ? j->test : j->train;
    r.eval_name = j->test ? "test" : "training";
    return cli_report_write(j->s.report, &r);
}

/* After training: say how it ended, save the model, write the log. */
static int finish(job *j)
{
    const settings *s = &j->s;
    const bp_train_result *res = &j->res;
    bp_meta *meta = NULL;
    bp_error err;
    cli_jtext final = {.len = 0};
    int rc, saved = 0, logged = 0, reported = 0;
    int lines = !s->quiet && !s->json;

    cli_progress_end(&j->ss.progress);
    if (res->nonfinite) {
        char what[80] = "the loss";
        if (res->bad_layer >= 0)
            snprintf(what, sizeof what, "layer %d (its gradient or its stepped weights)",
                     res->bad_layer);
        cli_error("training stopped at epoch %d, batch %ld: %s is not finite; the last good "
                  "weights are kept", res->bad_epoch, res->bad_batch, what);
    } else if (lines && res->early_stopped) {
        printf("stopped early: no better val_loss for %ld epochs; keeping the weights of "
               "epoch %d\n", s->patience, res->best_epoch);
    } else if (lines && s->patience > 0 && res->best_epoch > 0) {
        printf("keeping the weights of epoch %d (the best val_loss)\n", res->best_epoch);
    }

    if ((rc = final_figures(j, &final)) != 0)
        return rc;
    if (!(meta = bp_meta_create())) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    if ((rc = build_meta(j, &final, meta)) == 0) {
        if (bp_model_save(s->out, j->net, meta, &err) != 0)
            cli_error("%s", err.message);
        else
            saved = 1;
        logged = s->log && cli_progress_write_csv(&j->ss.progress, s->log) == 0;
        reported = s->report && write_report(j, meta) == 0;
        if (s->json) {
            print_json(j, saved ? s->out : NULL, logged ? s->log : NULL);
        } else if (lines) {
            if (saved)
                printf("model written to %s\n", s->out);
            if (logged)
                printf("log written to %s\n", s->log);
            if (reported)
                printf("report written to %s\n", s->report);
        }
        rc = saved && (logged || !s->log) && (reported || !s->report) && !res->nonfinite
                 ? CLI_OK
                 : CLI_RUNTIME;
    }
    bp_meta_free(meta);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    job *j = calloc(1, sizeof *j);
    bp_train_state *resume = NULL;
    bp_error err;
    int rc, lib;
    if (!j) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    if ((rc = parse_options(argc, argv, &j->s)) != 0) {
        free(j);
        return rc < 0 ? CLI_OK : cli_dist_agree(rc, NULL, NULL, NULL);
    }
    if (cli_dist_rank() > 0) { /* rank 0 alone prints and writes */
        j->s.quiet = 1;
        j->s.json = 0;
    }
    if (j->s.threads > 0)
        bp_set_threads((int)j->s.threads);
    cli_dist_threads(j->s.threads > 0);
    if ((rc = prepare(j)) == 0 && (rc = configure(j)) == 0 && j->s.resume &&
        !(resume = bp_train_state_load(j->s.resume, &err))) {
        cli_error("--resume: %s", err.message);
        rc = CLI_RUNTIME;
    }
    /* every rank ready with the same data, or none trains */
    if ((rc = cli_dist_agree(rc, j->train, j->net, &j->opts)) != 0 ||
        (rc = cli_dist_configure(&j->opts, j->net, (int)j->s.parts,
                                 !j->s.quiet && !j->s.json)) != 0)
        goto done;
    if (!j->s.quiet && !j->s.json)
        print_header(j);
    j->opts.resume = resume;
    cli_interrupt_catch();
    lib = bp_train(j->net, j->train, NULL, &j->opts, &j->res, &err);
    cli_interrupt_restore();
    cli_progress_clear(&j->ss.progress);
    rc = CLI_RUNTIME;
    if (j->ss.failed)
        goto done;
    if (lib != 0) {
        cli_error("%s%s", j->s.resume ? "--resume: " : "",
                  err.message[0] ? err.message : bp_strerror(lib));
        cli_dist_abort(CLI_RUNTIME); /* other ranks may wait for this one */
        goto done;
    }
    if (cli_interrupted()) {
        cli_error("interrupted after epoch %d, batch %ld%s%s; no model written",
                  j->ss.at_epoch, j->ss.at_batch,
                  j->s.checkpoint ? "; checkpoint written to " : "",
                  j->s.checkpoint ? j->s.checkpoint : "");
        rc = CLI_INTERRUPTED;
        goto done;
    }
    rc = cli_dist_rank() == 0 ? finish(j) : j->res.nonfinite ? CLI_RUNTIME : CLI_OK;
done:
    cli_progress_free(&j->ss.progress);
    cli_norms_free(&j->ss.norms);
    free(j->scale);
    bp_net_free(j->net);
    bp_dataset_free(j->test);
    bp_dataset_free(j->train);
    cli_model_free(&j->init);
    bp_train_state_free(resume);
    free(j);
    return rc;
}
