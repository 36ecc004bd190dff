/*
 * train.h - what the files of `backprop train` share: its settings (from
 * the command line, train_options.c), the state its callbacks keep, the
 * run (cmd_train.c), and what is saved with the model (train_save.c).
 */
#ifndef CLI_TRAIN_H
#define CLI_TRAIN_H

#include "cli.h"
#include "data.h"
#include "model.h"
#include "progress.h"
#include "report.h"
#include "tune.h"

#define TRAIN_CMD "train"

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
    bp_precision precision; /* --precision */
    int init_scheme; /* a bp_init, or -1 for the default */
    int nesterov, no_shuffle, json, quiet;
    cli_data d;            /* how the data are read and encoded */
    const char *class_weight; /* --class-weight: "balanced" or NAME=W,... */
    int out_set;           /* --out given; else out is the first free model name */
    /* given explicitly */
    int lr_set, momentum_set, weight_decay_set, gamma_set, step_size_set, scale_set;
} settings;

/* Parse the command line into s: CLI_OK, CLI_USAGE (printed), or -1 after
 * --help. */
int train_parse_options(int argc, char **argv, settings *s);
/* --precision before any data is read: bf16 where this machine cannot run
 * it, or --resume of a checkpoint trained in another precision, is a usage
 * error (printed); else CLI_OK. */
int train_check_precision(const settings *s);
/* The name --init-scheme takes for a bp_init. */
const char *train_scheme_name(int scheme);

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
    double eval_carry;    /* the last timed epoch's test evaluation, which the
                           * next group's time holds */
    double eval_since;    /* the test evaluations since the clock's last
                           * reading (eval_carry included): the next group's
                           * time holds them, its batches' time does not */
    cli_tune tune;        /* the thread count, by measured speed, unless --threads */
    const char *checkpoint; /* --checkpoint */
    int at_epoch;         /* the last batch run */
    long at_batch;
    long batches;         /* batches in an epoch */
    double first_loss;    /* the loss of the run's first batch (NAN before it) */
    const bp_meta *meta;  /* what a checkpoint keeps for use as a model */
} session;

/* Everything one run holds. */
typedef struct job {
    settings s;
    cli_model init;        /* --init's model; its network moves to net */
    bp_dataset *train, *test;
    bp_net *net;
    bp_loss loss;
    float *scale;          /* (2, I): the training data's shift, then mul */
    float *class_weight;   /* (classes) --class-weight's, or NULL */
    double t_mean, t_scale; /* a standardized regression target's; else 0, 1 */
    int t_scaled;          /* the target is standardized: losses shown in its units */
    int scheme;            /* the bp_init used; -1 with --init */
    bp_train_opts opts;
    bp_train_result res;
    session ss;
    int interrupted;       /* SIGINT or SIGTERM stopped the run */
    int diverged;          /* the loss ended far above its start, or went non-finite */
    char out[4096];        /* where the model goes: --out, or the first free name */
} job;

/* The figures of the weights being saved, as JSON, into out: those of the
 * epoch they come from, or measured now when training stopped inside an
 * epoch. */
int train_final_figures(job *j, cli_jtext *out);
/* What the run leaves in the model file besides the weights: settings,
 * data, final figures. */
int train_build_meta(const job *j, const cli_jtext *final, bp_meta *meta);
/* The run's JSON summary on stdout (--json). */
void train_print_json(const job *j, const char *model, const char *log);

#endif
