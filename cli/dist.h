/*
 * dist.h - `backprop train` across processes: MPI's start and end, the
 * agreement of every rank before training, the threads of each rank, and
 * the training options that make the ranks train as one (see
 * docs/DISTRIBUTED.md). In a build without MPI, or a process not started
 * by an MPI launcher, there is one rank and every function is a no-op.
 */
#ifndef BACKPROP_CLI_DIST_H
#define BACKPROP_CLI_DIST_H

#include "backprop.h"

/* MPI_Init when an MPI launcher (mpirun, srun) started this process.
 * Returns 0, or CLI_RUNTIME (printed). */
int cli_dist_init(int *argc, char ***argv);
/* MPI_Finalize, when cli_dist_init started MPI; frees what the run held. */
void cli_dist_finalize(void);
int cli_dist_rank(void);   /* 0 alone */
int cli_dist_size(void);   /* 1 alone */

/* Each rank's threads: cores / ranks on this machine, at most the cores
 * this rank may use, unless --threads (given) or OMP_NUM_THREADS says. */
void cli_dist_threads(int given);

/* Every rank brings its set-up's exit code rc (0: ready). Returns 0 when
 * every rank is ready and all hold the same training data, weights and
 * run length; otherwise an exit code on every rank, rank 0 saying which
 * ranks failed or differ. Alone: rc. */
int cli_dist_agree(int rc, const bp_dataset *train, bp_net *net, const bp_train_opts *o);

/* The shard of this rank into o (parts > 0: the deterministic form with
 * that many parts) and, across ranks, callbacks that agree: rank 0 alone
 * prints, logs and writes checkpoints, and a stop on any rank stops all.
 * With verbose, rank 0 prints the reductions' share of the time at the
 * end (cli_dist_finalize). Returns 0, or CLI_RUNTIME (printed). */
int cli_dist_configure(bp_train_opts *o, const bp_net *net, int parts, int verbose);

/* A line for the run's header on how the batches are shared ("" alone). */
void cli_dist_header(int parts);
/* After training, that every rank holds rank 0's weights and running
 * statistics (bit for bit); CLI_RUNTIME (printed by rank 0) when not. */
int cli_dist_same_end(bp_net *net);

/* After a failure inside training on this rank: end every rank (other
 * ranks may be waiting for this one). Alone: nothing. */
void cli_dist_abort(int code);

#endif
