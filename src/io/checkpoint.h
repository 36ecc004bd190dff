/*
 * checkpoint.h - the training state shared by the training loop (which
 * fills and restores it, src/train/train.c) and the checkpoint file
 * (src/io/checkpoint.c). Nothing here is public API.
 */
#ifndef BP_IO_CHECKPOINT_H
#define BP_IO_CHECKPOINT_H

#include "backprop.h"

#include <stddef.h>

struct bp_train_state {
    const char *spec;       /* the network's canonical spec */
    size_t P;               /* parameters */
    size_t n_rows;          /* entries of order: training then validation rows */
    int blocks;             /* optimizer state blocks (0 to 2) */
    long optim_steps;
    const float *params;    /* (P) */
    const float *optim;     /* (blocks, P) */
    const float *best;      /* (P + S) best weights then their state, or NULL
                             * without patience */
    size_t S;               /* the network's state (running statistics), 0 if none */
    const float *state;     /* (S) */
    const size_t *order;    /* (n_rows) */
    bp_rng rng;             /* the run's generator */
    int epoch;              /* epoch in progress, 1-based */
    long batch;             /* batches done in it (all of them: validation is next) */
    long step;              /* optimizer steps of the run */
    double lsum, asum;      /* the epoch's running loss and accuracy sums */
    double norm;            /* gradient norm of the last batch */
    int since_best;         /* epochs without a better validation loss */
    int best_epoch;
    double best_val_loss;   /* NAN before the first validation */
    void *storage;          /* a loaded state's one allocation; NULL when borrowed */
};

#endif
