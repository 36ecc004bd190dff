/*
 * report.h - the training report: one self-contained HTML page (inline SVG,
 * inline CSS, no script, nothing fetched) with the loss and accuracy
 * curves, the learning rate, the confusion matrix with per-class precision
 * and recall, the most confidently wrong samples, per-layer weight and
 * gradient norms, the table of layers and their shapes, the first
 * convolution layer's filters, and the run's settings. Written by `backprop train
 * --report` during a run and by `backprop report` from a log and a model
 * afterwards. Every figure on the page is one measured in the run or on
 * the saved weights; a section without figures says why.
 */
#ifndef BACKPROP_CLI_REPORT_H
#define BACKPROP_CLI_REPORT_H

#include "backprop.h"
#include "progress.h"

/* Per-layer norms over training: for each recorded epoch, the L2 norm of
 * each layer's parameters (weights and bias) and of its gradient. */
typedef struct cli_norms {
    int layers;
    size_t n, cap;
    double *epoch;  /* (n) */
    double *weight; /* (n, layers) */
    double *grad;   /* (n, layers); NaN where not measured */
} cli_norms;

/* Record epoch's norms: the weights' measured from net now, the gradients'
 * from grad (layers values; NULL: not measured). Returns 0 or CLI_RUNTIME
 * (printed) when memory ran out. */
int cli_norms_add(cli_norms *r, double epoch, bp_net *net, const double *grad);
void cli_norms_free(cli_norms *r);

/* Each layer's gradient norm for the whole of ds at the net's weights (the
 * mean gradient over every row), into out (layers values). 0 or
 * CLI_RUNTIME (printed). */
int cli_norms_measure_grad(bp_net *net, bp_loss loss, const bp_dataset *ds, double *out);

/* What a report shows. */
typedef struct cli_report {
    const char *origin;         /* how the figures were obtained, one sentence */
    bp_net *net;                /* the trained network */
    bp_loss loss;
    const cli_epoch *epochs;    /* (n_epochs) every epoch's figures */
    size_t n_epochs;
    const bp_schedule *schedule; /* the rate of every step; NULL: only the epochs' */
    long steps;                 /* steps run (with schedule) */
    const cli_norms *norms;     /* may be NULL */
    const char *norms_note;     /* said under the norms; may be NULL */
    const bp_dataset *eval;     /* the data the confusion matrix is measured on */
    const char *eval_name;      /* "test", "training", ... */
    const bp_meta *meta;        /* the run's settings (the model's metadata) */
} cli_report;

/* Write the page to path, whole or not at all. 0 or CLI_RUNTIME (printed). */
int cli_report_write(const char *path, const cli_report *r);

/* The page's sections on the network (report_net.c), written to f: the
 * table of layers (<section id="layers">: each layer's spec entry, the
 * shape it reads and gives, its weights' shape and parameter count); and
 * the filters of the first convolution layer (<section id="filters">, one
 * <g class="filter"> per filter holding one <g class="kernel"> picture
 * per input channel, or one of their mean when there are more than 16),
 * written only when the network has a convolution. 0 or CLI_RUNTIME
 * (printed). */
int cli_report_layers(FILE *f, const bp_net *net);
int cli_report_filters(FILE *f, bp_net *net);

#endif
