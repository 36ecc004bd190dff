/*
 * train_options.c - the command line of `backprop train`: its help, and
 * its options parsed and checked into the settings.
 */
#include "train.h"
#include "dist.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
        "  --out MODEL          where to save the model (default: model.safetensors, or\n"
        "                       model-2.safetensors, ... when it exists: an earlier\n"
        "                       model is never replaced unnamed); .onnx writes ONNX, .c\n"
        "                       C source, any other name but .json safetensors\n"
        "  --log FILE.csv       write the figures of every epoch as CSV (default: none);\n"
        "                       epochs shorter than 20 us are timed in groups: the\n"
        "                       group's last row holds its mean seconds and\n"
        "                       samples/s, the others leave them empty\n"
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
        "                       give the same options as the run that wrote it, but\n"
        "                       --epochs may differ (default: none)\n"
        "  -h, --help           show this help\n"
        "\n"
        "Exit status: 0 on success; 1 on a runtime error, or when training diverged (a\n"
        "non-finite loss or gradient: the last good weights are saved when their\n"
        "outputs are finite, marked so); 2 on bad usage; 130 when Ctrl-C or SIGTERM\n"
        "stopped it after a batch (the model so far, the log and any checkpoint are\n"
        "written).\n");
}

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
        s->out_set = 1;
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
int train_parse_options(int argc, char **argv, settings *s)
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
            return cli_bad_option(TRAIN_CMD, c, argv);
        if (parse_option(c, optarg, s) != 0)
            return CLI_USAGE;
    }
    if (cli_no_operands(TRAIN_CMD, argc, argv))
        return CLI_USAGE;
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

