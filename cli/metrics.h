/*
 * metrics.h - a model's evaluation metrics (bp_metrics_evaluate) computed
 * and printed for the tool, as text or JSON.
 */
#ifndef BACKPROP_CLI_METRICS_H
#define BACKPROP_CLI_METRICS_H

#include "backprop.h"

#include <stdio.h>

/* Up to this many classes the text output has the per-class table and the
 * confusion matrix; above, it names --json for them. */
#define CLI_METRICS_TABLE_MAX 20

/* The metrics of net under loss over ds (in the target's original units
 * when ds has a target scaling), printed to f as text or one JSON object.
 * Errors are printed; a non-finite output or loss says what to check.
 * Returns CLI_OK or CLI_RUNTIME. */
int cli_metrics_run(FILE *f, bp_net *net, const bp_dataset *ds, bp_loss loss, int json);

#endif /* BACKPROP_CLI_METRICS_H */
