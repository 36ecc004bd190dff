/*
 * mpi.c - data-parallel training over MPI: the reductions behind bp_shard
 * (built only when MPI is found).
 *
 * Two forms. With parts 0, process r computes part r of every batch cut
 * into one part per process, and one MPI_Allreduce of the gradient block
 * (and one of the two sums) adds them: the least traffic, in whatever order
 * MPI adds. With parts K, every batch is cut into K parts whatever the
 * number of processes R; process r computes parts [K r / R, K (r + 1) / R),
 * a contiguous run in part order. The gradient block is cut into R slices;
 * one MPI_Alltoallv brings slice s of every part to process s, which adds
 * them element by element in part order (exactly what one process does
 * alone), and MPI_Allgatherv hands the summed slices to everyone. The
 * parts' sums travel by MPI_Allgatherv and are added in part order too.
 *
 * Batch norm's per-channel sums (bp_shard.allsum) are one MPI_Allreduce
 * of a few doubles each: 2 C per layer in the default form, and in the
 * deterministic form a table of every part's 2 C, each process's parts
 * filled and zeros elsewhere, so that MPI's order of adding is exact.
 *
 * The library works on its own duplicate of MPI_COMM_WORLD. Every buffer
 * is allocated by bp_dist_create; a reduction allocates nothing.
 */
#include "internal.h"

#include <limits.h>
#include <mpi.h>
#include <string.h>

struct bp_dist {
    MPI_Comm comm;
    int rank, size;
    int parts;          /* 0: one part per process, MPI_Allreduce */
    size_t P;
    int first, count;   /* this process's parts */
    int *pcount;        /* (size) parts of each process */
    int *scount, *sdisp;/* (size) floats sent to each process, and where */
    int *rcount, *rdisp;/* (size) floats received from each, and where */
    int *gcount, *gdisp;/* (size) each slice of the block, for the gather */
    int *qcount, *qdisp;/* (size) each process's part sums (2 per part) */
    float *send;        /* (count, P) this process's parts, by destination */
    float *recv;        /* (parts, this slice) every part's slice, in part order */
    double *psums;      /* (parts, 2) every part's sums */
    long calls;         /* reductions so far, and the seconds they took */
    double seconds;
    long sum_calls;     /* batch norm's sums so far, and their seconds */
    double sum_seconds;
};

int bp_dist_available(void)
{
    return 1;
}

static int slice_start(size_t P, int s, int size)
{
    return (int)((unsigned long long)P * (unsigned long long)s / (unsigned long long)size);
}

void bp_dist_free(bp_dist *d)
{
    if (!d)
        return;
    if (d->comm != MPI_COMM_NULL)
        MPI_Comm_free(&d->comm);
    bp__free(d->pcount);
    bp__free(d->send);
    bp__free(d->recv);
    bp__free(d->psums);
    bp__free(d);
}

/* The counts and displacements of the deterministic form, and its buffers. */
static int plan(bp_dist *d, bp_error *err)
{
    int R = d->size, K = d->parts, me = d->rank;
    int mine = slice_start(d->P, me + 1, R) - slice_start(d->P, me, R);
    size_t cells, sent;
    if (!(d->pcount = bp__calloc(9 * (size_t)R, sizeof *d->pcount)))
        return bp__error_set(err, BP_ENOMEM, "out of memory for the reduction's plan");
    d->scount = d->pcount + R;
    d->sdisp = d->scount + R;
    d->rcount = d->sdisp + R;
    d->rdisp = d->rcount + R;
    d->gcount = d->rdisp + R;
    d->gdisp = d->gcount + R;
    d->qcount = d->gdisp + R;
    d->qdisp = d->qcount + R;
    for (int r = 0, at = 0; r < R; r++) {
        d->pcount[r] = BP__BLOCK_START(K, r + 1, R) - BP__BLOCK_START(K, r, R);
        d->qcount[r] = 2 * d->pcount[r];
        d->qdisp[r] = 2 * BP__BLOCK_START(K, r, R);
        d->gdisp[r] = slice_start(d->P, r, R);
        d->gcount[r] = slice_start(d->P, r + 1, R) - d->gdisp[r];
        d->scount[r] = d->count * d->gcount[r];
        d->sdisp[r] = at;
        at += d->scount[r];
        d->rcount[r] = d->pcount[r] * mine;
        d->rdisp[r] = BP__BLOCK_START(K, r, R) * mine;
    }
    if (bp__mul_size((size_t)K, (size_t)(mine > 0 ? mine : 1), &cells) || cells > INT_MAX ||
        bp__mul_size((size_t)d->count, d->P, &sent) || sent > INT_MAX)
        return bp__error_set(err, BP_EOVERFLOW, "dist: %d parts of %zu parameters are too many "
                             "to send in one message", K, d->P);
    if (!(d->send = bp__calloc((size_t)d->count * d->P, sizeof *d->send)) ||
        !(d->recv = bp__calloc(cells, sizeof *d->recv)) ||
        !(d->psums = bp__calloc(2 * (size_t)K, sizeof *d->psums)))
        return bp__error_set(err, BP_ENOMEM, "out of memory for the reduction's buffers "
                             "(%d parts of %zu parameters)", d->count, d->P);
    return 0;
}

bp_dist *bp_dist_create(const bp_net *net, int parts, bp_error *err)
{
    bp_dist *d;
    int init = 0, rc;
    if (!net || parts < 0) {
        bp__error_set(err, BP_EINVAL, "dist: needs a network and parts >= 0 (got %d)", parts);
        return NULL;
    }
    if (MPI_Initialized(&init) != MPI_SUCCESS || !init) {
        bp__error_set(err, BP_EINVAL, "dist: MPI is not initialised (call MPI_Init first)");
        return NULL;
    }
    if (bp_net_param_count(net) > INT_MAX / 2) {
        bp__error_set(err, BP_EOVERFLOW, "dist: %zu parameters are too many for one MPI message",
                      bp_net_param_count(net));
        return NULL;
    }
    if (!(d = bp__calloc(1, sizeof *d))) {
        bp__error_set(err, BP_ENOMEM, "out of memory");
        return NULL;
    }
    d->comm = MPI_COMM_NULL;
    if (MPI_Comm_dup(MPI_COMM_WORLD, &d->comm) != MPI_SUCCESS) {
        bp__error_set(err, BP_EIO, "dist: MPI_Comm_dup failed");
        goto fail;
    }
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    d->parts = parts;
    d->P = bp_net_param_count(net);
    if (parts == 0) {
        d->first = d->rank;
        d->count = 1;
        return d;
    }
    if (parts < d->size) {
        bp__error_set(err, BP_EINVAL, "dist: %d parts cannot be shared by %d processes (each "
                      "needs at least one)", parts, d->size);
        goto fail;
    }
    d->first = BP__BLOCK_START(parts, d->rank, d->size);
    d->count = BP__BLOCK_START(parts, d->rank + 1, d->size) - d->first;
    if ((rc = plan(d, err)) != 0)
        goto fail;
    return d;
fail:
    bp_dist_free(d);
    return NULL;
}

int bp_dist_rank(const bp_dist *d)
{
    return d ? d->rank : 0;
}

int bp_dist_size(const bp_dist *d)
{
    return d ? d->size : 1;
}

/* parts 0: every process's one part, added by MPI. */
static int reduce_sum(bp_dist *d, const float *grads, size_t n, float *out, double *sums)
{
    if (grads != out)
        memcpy(out, grads, n * sizeof *out);
    if (MPI_Allreduce(MPI_IN_PLACE, out, (int)n, MPI_FLOAT, MPI_SUM, d->comm) != MPI_SUCCESS ||
        MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, d->comm) != MPI_SUCCESS)
        return BP_EIO;
    return 0;
}

/* parts K: slices of every part to their owner, added in part order, then
 * gathered; the sums gathered and added in part order. */
static int reduce_ordered(bp_dist *d, const float *grads, int count, float *out, double *sums)
{
    int R = d->size, K = d->parts, me = d->rank;
    size_t P = d->P;
    int lo = d->gdisp[me], mine = d->gcount[me];
    /* pack: for each destination, its slice of each of our parts */
    for (int r = 0; r < R; r++) {
        float *to = d->send + d->sdisp[r];
        for (int j = 0; j < count; j++)
            memcpy(to + (size_t)j * (size_t)d->gcount[r], grads + (size_t)j * P + d->gdisp[r],
                   (size_t)d->gcount[r] * sizeof *to);
    }
    if (MPI_Alltoallv(d->send, d->scount, d->sdisp, MPI_FLOAT, d->recv, d->rcount, d->rdisp,
                      MPI_FLOAT, d->comm) != MPI_SUCCESS ||
        MPI_Allgatherv(sums, 2 * count, MPI_DOUBLE, d->psums, d->qcount, d->qdisp, MPI_DOUBLE,
                       d->comm) != MPI_SUCCESS)
        return BP_EIO;
    /* recv holds part k's slice at k * mine: add them in part order */
    float *sum = out + lo;
    memcpy(sum, d->recv, (size_t)mine * sizeof *sum);
    for (int k = 1; k < K; k++) {
        const float *part = d->recv + (size_t)k * (size_t)mine;
        for (int i = 0; i < mine; i++)
            sum[i] += part[i];
    }
    if (MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, d->gcount, d->gdisp, MPI_FLOAT,
                       d->comm) != MPI_SUCCESS)
        return BP_EIO;
    sums[0] = d->psums[0];
    sums[1] = d->psums[1];
    for (int k = 1; k < K; k++) {
        sums[0] += d->psums[2 * k];
        sums[1] += d->psums[2 * k + 1];
    }
    return 0;
}

static int reduce(const float *grads, int count, size_t n, float *out, double *sums, void *ctx)
{
    bp_dist *d = ctx;
    double t0 = MPI_Wtime();
    int rc;
    if (n != d->P || count != d->count)
        return BP_ESHAPE;
    rc = d->parts == 0 ? reduce_sum(d, grads, n, out, sums)
                       : reduce_ordered(d, grads, count, out, sums);
    d->calls++;
    d->seconds += MPI_Wtime() - t0;
    return rc;
}

/* Batch norm's sums over every process. */
static int allsum(double *v, size_t n, void *ctx)
{
    bp_dist *d = ctx;
    double t0 = MPI_Wtime();
    int rc = 0;
    if (n > INT_MAX)
        return BP_EOVERFLOW;
    if (MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, d->comm) != MPI_SUCCESS)
        rc = BP_EIO;
    d->sum_calls++;
    d->sum_seconds += MPI_Wtime() - t0;
    return rc;
}

long bp_dist_stats_allsum(const bp_dist *d, double *seconds)
{
    if (seconds)
        *seconds = d ? d->sum_seconds : 0.0;
    return d ? d->sum_calls : 0;
}

long bp_dist_stats(const bp_dist *d, double *seconds)
{
    if (seconds)
        *seconds = d ? d->seconds : 0.0;
    return d ? d->calls : 0;
}

bp_shard bp_dist_shard(bp_dist *d)
{
    bp_shard s;
    memset(&s, 0, sizeof s);
    if (!d || (d->parts == 0 && d->size == 1))
        return s; /* alone: whole batches, as without MPI */
    s.parts = d->parts > 0 ? d->parts : d->size;
    s.first = d->first;
    s.count = d->count;
    s.reduce = reduce;
    s.ctx = d;
    s.allsum = allsum;
    s.in_order = d->parts > 0;
    return s;
}
