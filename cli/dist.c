/*
 * dist.c - `backprop train` across processes (see dist.h and
 * docs/DISTRIBUTED.md).
 *
 * MPI starts only when an MPI launcher started the process (its variables
 * are in the environment), so a plain run never touches MPI. Before
 * training, every rank says whether its set-up worked and hashes what must
 * be the same everywhere (the training data as the network sees them, the
 * initial weights, the run's length): one collective, after which either
 * all ranks train or none does. During training every callback ends in an
 * agreement, so a stop on any rank (Ctrl-C, a log that cannot be written)
 * stops all of them at the same batch, and no rank waits for one that
 * left. A failure inside the library on one rank ends the job with
 * MPI_Abort: the other ranks are then waiting in a reduction.
 */
#define _POSIX_C_SOURCE 200809L
#include "dist.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef BP_HAVE_MPI
#include <mpi.h>
#endif

/* The run's one distributed state (the CLI trains one network). */
static struct {
    int started;            /* cli_dist_init called MPI_Init */
    int rank, size;
    bp_dist *dist;
    bp_epoch_fn on_epoch;   /* the command's own callbacks */
    bp_batch_fn on_batch;
    bp_checkpoint_fn on_checkpoint;
    void *ctx;
    int verbose;            /* rank 0 prints the reductions' time at the end */
    double train_seconds;   /* the epochs' wall time */
    size_t P;               /* parameters */
} D = {0, 0, 1, NULL, NULL, NULL, NULL, NULL, 0, 0.0, 0};

/* Launchers set these: Open MPI's mpirun, PMIx (Open MPI 5, srun
 * --mpi=pmix) and PMI (srun --mpi=pmi2, MPICH's hydra). */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int cli_dist_init(int *argc, char ***argv)
{
#ifdef BP_HAVE_MPI
    if (!launched())
        return CLI_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        cli_error("MPI_Init failed");
        return CLI_RUNTIME;
    }
    D.started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &D.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &D.size);
#else
    (void)argc;
    (void)argv;
    if (launched()) /* every process would train alone and write the same files */
        cli_error("started by an MPI launcher, but this build has no MPI support; "
                  "every process trains alone (rebuild with libopenmpi-dev installed)");
#endif
    return CLI_OK;
}

void cli_dist_finalize(void)
{
    double sec, bn_sec;
    long calls = bp_dist_stats(D.dist, &sec), bn_calls = bp_dist_stats_allsum(D.dist, &bn_sec);
    if (D.verbose && D.rank == 0 && calls > 0 && D.train_seconds > 0.0)
        printf("gradient reductions: %ld in %.3g s of %.3g s training (%.0f%%), %.3g MB of "
               "gradient each\n", calls, sec, D.train_seconds, 100.0 * sec / D.train_seconds,
               (double)D.P * sizeof(float) * 1e-6);
    if (D.verbose && D.rank == 0 && bn_calls > 0 && D.train_seconds > 0.0)
        printf("batch norm statistics sums: %ld in %.3g s (%.0f%% of training)\n", bn_calls,
               bn_sec, 100.0 * bn_sec / D.train_seconds);
    bp_dist_free(D.dist);
    D.dist = NULL;
#ifdef BP_HAVE_MPI
    if (D.started)
        MPI_Finalize();
    D.started = 0;
#endif
}

int cli_dist_rank(void)
{
    return D.rank;
}

int cli_dist_size(void)
{
    return D.size;
}

void cli_dist_abort(int code)
{
#ifdef BP_HAVE_MPI
    if (D.started && D.size > 1) {
        cli_json_errors_flush(code); /* MPI_Abort never returns to main */
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#else
    (void)code;
#endif
}

void cli_dist_threads(int given)
{
#ifdef BP_HAVE_MPI
    MPI_Comm local;
    int here = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!D.started || given || getenv("OMP_NUM_THREADS"))
        return;
    /* the ranks that share this machine's memory share its cores */
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_size(local, &here);
        MPI_Comm_free(&local);
    }
    long t = cores > 0 ? cores / here : 1;
    if (t > bp_threads()) /* a rank bound to fewer cores */
        t = bp_threads();
    bp_set_threads(t < 1 ? 1 : (int)t);
#else
    (void)given;
#endif
}

#ifdef BP_HAVE_MPI
/* FNV-1a over 32-bit words, one word at a time. */
static uint64_t hash_words(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, b + i, 4);
        h = (h ^ w) * 1099511628211ull;
    }
    return h;
}

/* What every rank must hold alike: 0 when the data cannot be read. */
static uint64_t fingerprint(const bp_dataset *ds, bp_net *net, const bp_train_opts *o)
{
    enum { CHUNK = 256 };
    uint64_t h = 14695981039346656037ull;
    size_t rows = bp_dataset_rows(ds);
    int I = bp_dataset_inputs(ds), T = bp_dataset_target_cols(ds);
    long long shape[6] = {(long long)rows, I, T, o->epochs, o->batch, (long long)o->seed};
    float *x = malloc((size_t)CHUNK * ((size_t)I + (size_t)T) * sizeof *x);
    if (!x)
        return 0;
    h = hash_words(h, shape, sizeof shape);
    for (size_t r = 0; r < rows; r += CHUNK) {
        int b = rows - r < CHUNK ? (int)(rows - r) : CHUNK;
        if (bp_dataset_gather(ds, NULL, r, b, x, x + (size_t)b * (size_t)I) != 0) {
            free(x);
            return 0;
        }
        h = hash_words(h, x, (size_t)b * ((size_t)I + (size_t)T) * sizeof *x);
    }
    free(x);
    return hash_words(h, bp_net_params(net), bp_net_param_count(net) * sizeof(float));
}

/* The ranks whose entry differs from rank 0's (or is nonzero), as a list. */
static void rank_list(char *buf, size_t size, const long long *v, int n, int nonzero)
{
    size_t len = 0;
    int shown = 0;
    buf[0] = '\0';
    for (int r = 0; r < n && len + 16 < size; r++)
        if (nonzero ? v[r] != 0 : v[r] != v[0]) {
            len += (size_t)snprintf(buf + len, size - len, "%s%d", shown ? ", " : "", r);
            shown++;
        }
}
#endif

int cli_dist_agree(int rc, const bp_dataset *train, bp_net *net, const bp_train_opts *o)
{
#ifdef BP_HAVE_MPI
    long long mine[2], *all;
    char list[256];
    int failed = 0, differ = 0;
    if (!D.started || D.size == 1)
        return rc;
    mine[0] = rc;
    mine[1] = rc == 0 ? (long long)fingerprint(train, net, o) : 0;
    if (rc == 0 && mine[1] == 0) {
        cli_error("out of memory reading the training data back");
        mine[0] = rc = CLI_RUNTIME;
    }
    if (!(all = malloc(4 * (size_t)D.size * sizeof *all))) {
        cli_error("out of memory");
        cli_dist_abort(CLI_RUNTIME);
        return CLI_RUNTIME;
    }
    MPI_Allgather(mine, 2, MPI_LONG_LONG, all, 2, MPI_LONG_LONG, MPI_COMM_WORLD);
    long long *codes = all + 2 * D.size, *prints = codes + D.size;
    for (int r = 0; r < D.size; r++) {
        codes[r] = all[2 * r];
        prints[r] = all[2 * r + 1];
    }
    for (int r = 0; r < D.size; r++) {
        failed += codes[r] != 0;
        differ += codes[r] == 0 && codes[0] == 0 && prints[r] != prints[0];
    }
    if (D.rank == 0 && failed > 0) {
        rank_list(list, sizeof list, codes, D.size, 1);
        cli_error("rank%s %s of %d failed to set up (see %s message%s); no rank trains",
                  failed > 1 ? "s" : "", list, D.size, failed > 1 ? "their" : "its",
                  failed > 1 ? "s" : "");
    } else if (D.rank == 0 && differ > 0) {
        rank_list(list, sizeof list, prints, D.size, 0);
        cli_error("rank%s %s of %d hold%s different training data, weights or run length "
                  "from rank 0's; every rank reads --data itself and must read the same "
                  "file with the same options", differ > 1 ? "s" : "", list, D.size,
                  differ > 1 ? "" : "s");
    }
    if (failed > 0 || differ > 0) {
        rc = rc != 0 ? rc : CLI_RUNTIME;
        for (int r = 0; r < D.size; r++) /* a usage error anywhere is one here */
            if (codes[r] == CLI_USAGE)
                rc = CLI_USAGE;
    }
    free(all);
    return rc;
#else
    (void)train;
    (void)net;
    (void)o;
    return rc;
#endif
}

int cli_dist_same_end(bp_net *net)
{
#ifdef BP_HAVE_MPI
    uint64_t mine = 14695981039346656037ull, *all;
    int differ = 0;
    if (!D.started || D.size == 1)
        return CLI_OK;
    mine = hash_words(mine, bp_net_params(net), bp_net_param_count(net) * sizeof(float));
    mine = hash_words(mine, bp_net_state(net), bp_net_state_count(net) * sizeof(float));
    if (!(all = malloc((size_t)D.size * sizeof *all))) {
        cli_error("out of memory");
        cli_dist_abort(CLI_RUNTIME);
        return CLI_RUNTIME;
    }
    MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    for (int r = 1; r < D.size; r++)
        differ += all[r] != all[0];
    free(all);
    if (differ == 0)
        return CLI_OK;
    if (D.rank == 0)
        cli_error("%d of %d ranks end with other weights or running statistics than rank 0's",
                  differ, D.size);
    return CLI_RUNTIME;
#else
    (void)net;
    return CLI_OK;
#endif
}

#ifdef BP_HAVE_MPI
/* A stop anywhere is a stop everywhere. */
static int any(int stop)
{
    int all = stop;
    MPI_Allreduce(&stop, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

static int agree_batch(int epoch, long batch, long batches, double loss, void *ctx)
{
    (void)ctx;
    return any(D.on_batch ? D.on_batch(epoch, batch, batches, loss, D.ctx) : 0);
}

static int agree_epoch(const bp_epoch_stats *st, void *ctx)
{
    (void)ctx;
    if (st->timed_epochs > 0)
        D.train_seconds += st->seconds;
    return any(D.rank == 0 && D.on_epoch ? D.on_epoch(st, D.ctx) : 0);
}

static int agree_checkpoint(const bp_train_state *state, void *ctx)
{
    (void)ctx;
    return any(D.rank == 0 && D.on_checkpoint ? D.on_checkpoint(state, D.ctx) : 0);
}
#endif

int cli_dist_configure(bp_train_opts *o, const bp_net *net, int parts, int verbose)
{
    bp_error err;
    D.verbose = verbose;
    D.P = bp_net_param_count(net);
    if (!D.started || D.size == 1) {
        /* alone: whole batches, or every part summed here in order */
        if (parts > 0) {
            memset(&o->shard, 0, sizeof o->shard);
            o->shard.parts = parts;
            o->shard.count = parts;
        }
        return CLI_OK;
    }
#ifdef BP_HAVE_MPI
    if (!(D.dist = bp_dist_create(net, parts, &err))) {
        cli_error("%s", err.message);
        return CLI_RUNTIME;
    }
    o->shard = bp_dist_shard(D.dist);
    D.on_epoch = o->on_epoch;
    D.on_batch = o->on_batch;
    D.on_checkpoint = o->on_checkpoint;
    D.ctx = o->ctx;
    o->on_epoch = agree_epoch;
    o->on_batch = agree_batch;
    o->on_checkpoint = o->on_checkpoint ? agree_checkpoint : NULL;
    return CLI_OK;
#else
    (void)net;
    (void)err;
    return CLI_OK;
#endif
}

void cli_dist_header(int parts)
{
    if (D.size > 1)
        printf("data-parallel over %d ranks, %d thread%s each: ", D.size, bp_threads(),
               bp_threads() == 1 ? "" : "s");
    else if (parts > 0)
        printf("one process: ");
    else
        return;
    if (parts > 0)
        printf("deterministic, every batch cut into %d parts summed in part order\n", parts);
    else
        printf("each rank takes 1/%d of every batch, gradients summed by MPI_Allreduce\n",
               D.size);
}
