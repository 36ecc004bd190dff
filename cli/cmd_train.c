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
 *
 * This file runs the command: the callbacks, the preparation of the data,
 * network and options (outputs checked against inputs first, paths.c), and
 * the end (a diverged run told what to try, the weights' outputs checked
 * finite, saving in the form --out names, the log, the report; also after
 * SIGINT or SIGTERM). Its
 * options are parsed in train_options.c, the model's metadata and the
 * --json summary are built in train_save.c.
 */
#include "train.h"
#include "dist.h"
#include "paths.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the callbacks ------------------------------------------------------ */

static int on_batch(int epoch, long batch, long batches, double loss, void *ctx)
{
    session *ss = ctx;
    if (ss->startup == 0.0)
        ss->startup = cli_process_seconds();
    cli_progress_batch(&ss->progress, epoch, batch, batches, loss);
    cli_tune_batch(&ss->tune);
    ss->at_epoch = epoch;
    ss->at_batch = batch;
    ss->batches = batches;
    if (isnan(ss->first_loss))
        ss->first_loss = loss;
    return cli_interrupted();
}

static int on_checkpoint(const bp_train_state *state, void *ctx)
{
    session *ss = ctx;
    if (cli_checkpoint_write(ss->checkpoint, state, ss->meta) != 0) {
        ss->failed = 1;
        return 1;
    }
    return 0;
}

/* After every epoch: measure the test data, then report. */
static int on_epoch(const bp_epoch_stats *st, void *ctx)
{
    session *ss = ctx;
    /* The library times an epoch (or a group of short ones) from its last
     * reading of the clock, so the time holds this callback's test
     * evaluations since then: the last timed epoch's is moved back to the
     * group it belongs to, and none counts in the batches' time. */
    const int k = st->timed_epochs;
    bp_error err;
    /* An epoch cut short by a signal is not an epoch: its sums cover part
     * of the rows; the model's final figures are measured instead. */
    if (cli_interrupted() && ss->at_epoch == st->epoch && ss->at_batch < ss->batches)
        return 0;
    const double train_seconds = k > 0 ? st->train_seconds - ss->eval_since : NAN;
    cli_epoch *const e = cli_progress_next(&ss->progress); /* every field set below */
    e->epoch = st->epoch;
    e->has = 0;
    e->loss = st->train_loss;
    e->accuracy = e->val_loss = e->val_accuracy = e->test_loss = e->test_accuracy = 0.0;
    e->lr = st->lr;
    e->timed = k;
    e->seconds = k > 0 ? st->seconds - ss->eval_carry : NAN;
    e->samples_per_s = train_seconds > 0.0 ? (double)ss->progress.rows * k / train_seconds : NAN;
    /* Random search measures no accuracy on its batches (it reports 0). */
    if (st->train_accuracy >= 0.0 && !ss->random) {
        e->has |= CLI_HAS_ACC;
        e->accuracy = st->train_accuracy;
    }
    if (ss->val) {
        e->has |= CLI_HAS_VAL | (st->val_accuracy >= 0.0 ? CLI_HAS_VAL_ACC : 0u);
        e->val_loss = st->val_loss;
        e->val_accuracy = st->val_accuracy;
    }
    if (ss->test) {
        double acc, t0 = cli_now();
        if (bp_evaluate(ss->net, ss->test, ss->loss, &e->test_loss, &acc, &err) != 0) {
            cli_progress_clear(&ss->progress);
            cli_error("evaluating the test data: %s", err.message);
            ss->failed = 1;
            return 1;
        }
        e->has |= CLI_HAS_TEST | (acc >= 0.0 ? CLI_HAS_TEST_ACC : 0u);
        e->test_accuracy = acc;
        const double took = cli_now() - t0;
        if (k > 0) {
            e->seconds += took;
            ss->eval_carry = ss->eval_since = took;
        } else {
            ss->eval_since += took;
        }
    }
    if (k > 0)
        e->seconds /= k;
    if (cli_progress_epoch(&ss->progress) != 0) {
        ss->failed = 1;
        return 1;
    }
    if (ss->report && cli_norms_add(&ss->norms, st->epoch, ss->net, st->layer_grad_norm) != 0) {
        ss->failed = 1;
        return 1;
    }
    if (st->best)
        ss->best = *e;
    cli_tune_epoch(&ss->tune);
    return 0;
}

/* ---- preparing the run -------------------------------------------------- */


/* Whether ds fits net under loss (the library's rule, which bp_train
 * applies); when not, prints why after prefix and returns 1. */
static int misfit(const char *prefix, const bp_net *net, bp_loss loss, const bp_dataset *ds,
                  const char *what)
{
    bp_error err;
    if (bp_net_check_data(net, loss, ds, what, &err) == 0)
        return 0;
    cli_error("%s%s", prefix, err.message);
    return 1;
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
        cli_usage(TRAIN_CMD, "--net %s disagrees with the network of %s (%s)", a, path, b);
    bp_net_free(net);
    return rc;
}

/* The training data's scaling: --init's model's, or as the loader left it
 * (delimited text standardized unless --no-standardize, other data with
 * --standardize); the test data get the same. */
static int scale_data(job *j)
{
    int I = bp_dataset_inputs(j->train), lib;
    if (j->init.net && cli_model_scale(&j->init, j->train) != 0)
        return CLI_RUNTIME;
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

/* The training data read and encoded as the options say (with --init, by
 * the model's saved encoding), the test data by the training data's
 * encoding. */
static int load_data(job *j)
{
    const settings *s = &j->s;
    const char *schema = j->init.net ? bp_meta_get(j->init.meta, "schema") : NULL;
    if (j->init.net && s->d.standardize && bp_meta_get(j->init.meta, "scaling"))
        return cli_usage(TRAIN_CMD, "--standardize: the model given to --init has its own input "
                         "scaling");
    /* a model without a schema was trained on data read as the library
     * reads a spec alone */
    j->train = j->init.net ? cli_data_load_schema(s->data, schema, 1, &s->d, s->seed)
                           : cli_data_load_train(s->data, &s->d, s->seed);
    if (!j->train)
        return CLI_RUNTIME;
    if (s->test) {
        /* the same encoding; --standardize's scaling comes from the training data */
        cli_data d = s->d;
        d.standardize = 0;
        if (!(j->test = cli_data_load_schema(s->test, bp_dataset_schema(j->train), 1, &d,
                                             s->seed + 1)))
            return CLI_RUNTIME;
    }
    j->t_scaled = bp_dataset_target_scaling(j->train, &j->t_mean, &j->t_scale) == 0;
    if (!j->t_scaled) {
        j->t_mean = 0.0;
        j->t_scale = 1.0;
    }
    return CLI_OK;
}

/* --class-weight: one weight per class, balanced or named. */
static int class_weights(job *j)
{
    const char *arg = j->s.class_weight;
    int k = bp_dataset_classes(j->train);
    const char **names;
    bp_error err;
    int rc;
    if (!arg)
        return CLI_OK;
    if (k < 2)
        return cli_usage(TRAIN_CMD, "--class-weight: the training data have no classes (%s)",
                         bp_dataset_describe(j->train));
    if (!(j->class_weight = malloc((size_t)k * sizeof *j->class_weight)) ||
        !(names = malloc((size_t)k * sizeof *names))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    for (int c = 0; c < k; c++)
        names[c] = bp_dataset_class_name(j->train, c);
    if (strcmp(arg, "balanced") == 0)
        rc = bp_dataset_class_weights_balanced(j->train, j->class_weight, &err) < 0;
    else
        rc = bp_class_weights_parse(arg, k, names, j->class_weight, &err) != 0;
    free(names);
    if (rc)
        return cli_usage(TRAIN_CMD, "--class-weight: %s", err.message);
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

/* The form train --out writes. */
enum { OUT_SAFETENSORS, OUT_ONNX, OUT_C };

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

static int out_format(const char *path)
{
    return ends_with(path, ".onnx") ? OUT_ONNX : ends_with(path, ".c") ? OUT_C : OUT_SAFETENSORS;
}

/* Where the model goes: --out as given (never .json, the hand-written form
 * train does not write), else the first free name of model.safetensors,
 * model-2.safetensors, ..., so that an earlier model is never replaced by a
 * run that did not name it. */
static int choose_out(job *j)
{
    if (!j->s.out_set) {
        if (cli_paths_free_name("model", ".safetensors", j->out, sizeof j->out) != 0) {
            cli_error("--out: no free name model-N.safetensors in this folder; give --out");
            return CLI_RUNTIME;
        }
        return CLI_OK;
    }
    if (ends_with(j->s.out, ".json"))
        return cli_usage(TRAIN_CMD, "--out %s: train writes safetensors, ONNX (.onnx) or C "
                         "source (.c), not the hand-written JSON form; name another file",
                         j->s.out);
    if (strlen(j->s.out) >= sizeof j->out) {
        cli_error("--out: the file name is too long");
        return CLI_USAGE;
    }
    strcpy(j->out, j->s.out);
    return CLI_OK;
}

/* A layer whose draws a split over MPI ranks or --deterministic's parts
 * would change: a usage error naming it. Batch norm sums its statistics
 * over the ranks (the default form) or over the parts in part order
 * (--deterministic). */
static int unsplittable(const job *j)
{
    const int ranks = cli_dist_size() > 1;
    if (!ranks && !j->s.deterministic)
        return CLI_OK;
    for (int l = 0; l < bp_net_layers(j->net); l++) {
        const bp_layer_desc d = bp_net_layer(j->net, l);
        char entry[96];
        if (!(d.kind == BP_LAYER_DROPOUT && d.rate > 0.0))
            continue;
        bp_net_layer_spec(j->net, l, entry, sizeof entry);
        return cli_usage(TRAIN_CMD, "layer %d (%s) cannot be split over %s yet (the masks would "
                         "differ)", l + 1, entry, ranks ? "MPI ranks" : "--deterministic's parts");
    }
    return CLI_OK;
}

/* Load, scale and check everything the run needs; fresh weights unless
 * --init. */
static int prepare(job *j)
{
    const settings *s = &j->s;
    int rc, explicit_net = s->net && !s->init;
    char prefix[64] = "";
    const cli_file outs[] = {{"--out", j->out, 0, NULL},
                             {"--log", s->log, 0, NULL},
                             {"--report", s->report, 0, NULL},
                             {"--checkpoint", s->checkpoint, 0, "--resume"}};
    const cli_file ins[] = {{"--data", s->data, 1, NULL},
                            {"--test", s->test, 1, NULL},
                            {"--init", s->init, 0, NULL},
                            {"--resume", s->resume, 0, NULL}};
    if ((rc = choose_out(j)) != 0 || (rc = cli_paths_check(TRAIN_CMD, outs, 4, ins, 4)) != 0)
        return rc;
    if ((rc = train_check_precision(s)) != 0)
        return rc;
    if (cli_check_writable("--out", j->out) != 0 ||
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
    if ((rc = load_data(j)) != 0)
        return rc;
    if ((rc = scale_data(j)) != 0 || (rc = class_weights(j)) != 0 || (rc = make_net(j)) != 0)
        return rc;
    if (!s->init && (rc = cli_parse_loss("--loss", s->loss, j->net, &j->loss)) != 0)
        return rc;
    if ((rc = unsplittable(j)) != 0)
        return rc;
    if (s->precision != BP_PRECISION_FP32) {
        bp_error err;
        int code = bp_net_set_precision(j->net, s->precision, &err);
        if (code == BP_EUNSUPPORTED)
            return cli_usage(TRAIN_CMD, "--precision %s: %s", bp_precision_name(s->precision),
                             err.message);
        if (code != 0) {
            cli_error("--precision %s: %s", bp_precision_name(s->precision), err.message);
            return CLI_RUNTIME;
        }
    }
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
    o->class_weight = j->class_weight;
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
    /* losses in the target's units: mae scales as the target, mse as its square */
    j->ss.progress.loss_mul = j->loss == BP_LOSS_MAE ? j->t_scale : j->t_scale * j->t_scale;
    return CLI_OK;
}

/* ---- the command ---------------------------------------------------------- */

/* What the label column was taken for, and why: "task: classification of
 * 'species', 3 classes (3 distinct text labels)". */
static void print_task(const job *j)
{
    const char *reason = bp_dataset_task_reason(j->train);
    const char *name = bp_dataset_label(j->train);
    char of[160] = "", a[32], b[32];
    int C = bp_dataset_classes(j->train);
    if (!bp_dataset_schema(j->train))
        return;
    if (name[0])
        snprintf(of, sizeof of, " of %s", name);
    if (C > 0)
        printf("task: classification%s, %d classes", of, C);
    else
        printf("task: regression%s", of);
    if (reason && reason[0])
        printf(" (%s)", reason);
    if (j->t_scaled)
        printf("; target standardized (mean %s, scale %s), losses in its units",
               cli_num(a, j->t_mean), cli_num(b, j->t_scale));
    putchar('\n');
    if (j->class_weight) {
        printf("class weights");
        for (int c = 0; c < C; c++) {
            const char *n = bp_dataset_class_name(j->train, c);
            if (n)
                printf("%s %s=%s", c ? "," : "", n, cli_fnum(a, j->class_weight[c]));
            else
                printf("%s %d=%s", c ? "," : "", c, cli_fnum(a, j->class_weight[c]));
        }
        putchar('\n');
    }
}

static void print_header(const job *j)
{
    char spec[1024], batch[32] = "full batch", data[512];
    if (j->s.batch > 0)
        snprintf(batch, sizeof batch, "batch %ld", j->s.batch);
    bp_net_spec(j->net, spec, sizeof spec);
    printf("training %s (%zu parameters) on %s\n", spec, bp_net_param_count(j->net),
           cli_data_describe(data, sizeof data, j->train, j->net));
    print_task(j);
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
    if (j->s.precision != BP_PRECISION_FP32)
        printf("precision %s: matrix products and convolutions take bfloat16 inputs, "
               "accumulate in float\n", bp_precision_name(j->s.precision));
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

/* Whether every output of the network on the training data is finite: 1,
 * 0, or -1 on an error (printed). */
static int outputs_finite(const job *j)
{
    enum { CHUNK = 256 };
    bp_net *net = j->net;
    int I = bp_net_inputs(net), O = bp_net_outputs(net), lib, ok = 1;
    size_t n = bp_dataset_rows(j->train);
    float *x = malloc((size_t)CHUNK * (size_t)I * sizeof *x); /* (B, I) */
    const float *y;                                           /* (B, O) */
    if (!x) {
        cli_error("out of memory");
        return -1;
    }
    for (size_t first = 0; first < n && ok; first += CHUNK) {
        int B = n - first < CHUNK ? (int)(n - first) : CHUNK;
        if ((lib = bp_dataset_gather(j->train, NULL, first, B, x, NULL)) != 0 ||
            (lib = bp_net_forward(net, B, x, &y)) != 0) {
            cli_lib_error("checking the outputs", lib, net);
            ok = -1;
            break;
        }
        for (size_t k = 0; k < (size_t)B * (size_t)O; k++)
            if (!isfinite(y[k])) {
                ok = 0;
                break;
            }
    }
    free(x);
    return ok;
}

/* What to try after a diverged run, on stderr. */
static void divergence_hints(const job *j)
{
    char lr[32];
    const int scaled = j->s.d.standardize || (bp_dataset_schema(j->train) && !j->s.d.no_standardize);
    cli_error("training diverged: try a lower --lr (this run used %s) or --clip 1%s",
              cli_num(lr, j->opts.optim.lr),
              scaled ? "" : j->s.d.no_standardize ? ", and leave out --no-standardize (scaled "
                                                    "inputs learn better)"
                                                  : ", and --standardize for the inputs");
}

static int save_model(const job *j, const bp_meta *meta, bp_error *err)
{
    switch (out_format(j->out)) {
    case OUT_ONNX:
        return bp_onnx_save(j->out, j->net, meta, err);
    case OUT_C:
        return bp_export_c(j->out, j->net, meta, NULL, err);
    default:
        return bp_model_save(j->out, j->net, meta, err);
    }
}

/* After training: say how it ended, check the weights, save the model,
 * write the log. A diverged run exits 1: its weights are saved, marked,
 * only when their outputs on the training data are finite. */
static int finish(job *j)
{
    const settings *s = &j->s;
    const bp_train_result *res = &j->res;
    bp_meta *meta = NULL;
    bp_error err;
    cli_jtext final = {.len = 0};
    char note[160] = "";
    int rc, saved = 0, logged = 0, reported = 0, finite;
    int lines = !s->quiet && !s->json;

    cli_progress_end(&j->ss.progress);
    if (res->nonfinite) {
        char what[80] = "the loss";
        if (res->bad_layer >= 0)
            snprintf(what, sizeof what, "layer %d (its gradient or its stepped weights)",
                     res->bad_layer);
        cli_error("training stopped at epoch %d, batch %ld: %s is not finite; the last good "
                  "weights are kept", res->bad_epoch, res->bad_batch, what);
        snprintf(note, sizeof note, "the last good weights, before epoch %d, batch %ld, where "
                 "training stopped on a non-finite value", res->bad_epoch, res->bad_batch);
        j->diverged = 1;
    } else if (res->epochs_run > 0 && isfinite(j->ss.first_loss) &&
               !(res->last.train_loss <= 10.0 * j->ss.first_loss) &&
               !(res->last.train_loss <= 1.0)) {
        /* above 1 too: a run that starts near 0 may wander by ratios */
        char a[32], b[32];
        const double mul = j->ss.progress.loss_mul; /* in the target's units */
        cli_error("the training loss ended at %s, far above the %s of the first batch",
                  cli_num(a, res->last.train_loss * mul), cli_num(b, j->ss.first_loss * mul));
        snprintf(note, sizeof note, "diverged: the training loss ended at %s, from %s",
                 cli_num(a, res->last.train_loss * mul), cli_num(b, j->ss.first_loss * mul));
        j->diverged = 1;
    } else if (lines && res->early_stopped) {
        printf("stopped early: no better val_loss for %ld epochs; keeping the weights of "
               "epoch %d\n", s->patience, res->best_epoch);
    } else if (lines && s->patience > 0 && res->best_epoch > 0) {
        printf("keeping the weights of epoch %d (the best val_loss)\n", res->best_epoch);
    }
    if (j->diverged)
        divergence_hints(j);
    if ((finite = outputs_finite(j)) < 0)
        return CLI_RUNTIME;

    if ((rc = train_final_figures(j, &final)) != 0)
        return rc;
    if (!(meta = bp_meta_create())) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    if ((rc = train_build_meta(j, &final, meta)) == 0 && note[0] &&
        bp_meta_set(meta, "diverged", note) != 0) {
        cli_error("out of memory");
        rc = CLI_RUNTIME;
    }
    if (rc == 0) {
        if (!finite)
            cli_error("no model written: the network's outputs on the training data are not "
                      "finite");
        else if (save_model(j, meta, &err) != 0)
            cli_error("%s", err.message);
        else
            saved = 1;
        logged = s->log && cli_progress_write_csv(&j->ss.progress, s->log) == 0;
        reported = s->report && write_report(j, meta) == 0;
        if (s->json) {
            train_print_json(j, saved ? j->out : NULL, logged ? s->log : NULL);
        } else if (lines) {
            if (saved && j->diverged)
                printf("the %s were written to %s; they are not a trained model\n",
                       res->nonfinite ? "last good weights" : "diverged weights", j->out);
            else if (saved)
                printf("model written to %s\n", j->out);
            if (logged)
                printf("log written to %s\n", s->log);
            if (reported)
                printf("report written to %s\n", s->report);
            if (j->interrupted && s->checkpoint)
                printf("checkpoint written to %s\n", s->checkpoint);
        }
        rc = saved && (logged || !s->log) && (reported || !s->report) && !j->diverged
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
    bp_meta *ckpt_meta = NULL;
    bp_error err;
    int rc, lib;
    if (!j) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    if ((rc = train_parse_options(argc, argv, &j->s)) != 0) {
        free(j);
        return rc < 0 ? CLI_OK : cli_dist_agree(rc, NULL, NULL, NULL);
    }
    if (cli_dist_rank() > 0) { /* rank 0 alone prints and writes */
        j->s.quiet = 1;
        j->s.json = 0;
        j->s.d.quiet = 1;
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
    j->ss.first_loss = NAN;
    /* what a checkpoint keeps so that it can be used as a model */
    if (j->s.checkpoint && cli_dist_rank() == 0) {
        if (!(ckpt_meta = bp_meta_create())) {
            cli_error("out of memory");
            rc = CLI_RUNTIME;
            goto done;
        }
        if ((rc = train_build_meta(j, NULL, ckpt_meta)) != 0)
            goto done;
        j->ss.meta = ckpt_meta;
    }
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
        /* the model as it stands, the log so far (and the checkpoint, which
         * the library wrote on the stop) */
        j->interrupted = 1;
        cli_error("interrupted at epoch %d of %ld, batch %ld of %ld", j->ss.at_epoch,
                  j->s.epochs, j->ss.at_batch, j->ss.batches);
        rc = cli_dist_rank() == 0 ? finish(j) : CLI_OK;
        rc = rc == CLI_OK ? CLI_INTERRUPTED : rc;
        goto done;
    }
    if ((rc = cli_dist_same_end(j->net)) != CLI_OK)
        goto done;
    rc = cli_dist_rank() == 0 ? finish(j) : j->res.nonfinite ? CLI_RUNTIME : CLI_OK;
done:
    cli_progress_free(&j->ss.progress);
    cli_norms_free(&j->ss.norms);
    free(j->scale);
    free(j->class_weight);
    bp_net_free(j->net);
    bp_dataset_free(j->test);
    bp_dataset_free(j->train);
    cli_model_free(&j->init);
    bp_train_state_free(resume);
    bp_meta_free(ckpt_meta);
    free(j);
    return rc;
}
