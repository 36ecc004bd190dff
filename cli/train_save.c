/*
 * train_save.c - what `backprop train` keeps of a run: the settings, data
 * and final figures in the model file's metadata, and the --json summary.
 */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
int train_final_figures(job *j, cli_jtext *out)
{
    const bp_train_result *res = &j->res;
    bp_error err;
    out->len = 0;
    out->over = 0;
    /* Stopped inside an epoch: on a non-finite value, or interrupted. */
    int inside = res->nonfinite ? res->bad_batch > 1 || res->epochs_run == 0
                                : j->interrupted && (j->ss.at_batch < j->ss.batches ||
                                                     res->epochs_run == 0);
    int at_epoch = res->nonfinite ? res->bad_epoch : j->ss.at_epoch;
    long at_batch = res->nonfinite ? res->bad_batch : j->ss.at_batch;
    if (inside) {
        cli_epoch m = {.epoch = 0};
        double acc;
        if (bp_evaluate(j->net, j->train, j->loss, &m.loss, &acc, &err) != 0 ||
            (j->test && bp_evaluate(j->net, j->test, j->loss, &m.test_loss, &m.test_accuracy,
                                    &err) != 0)) {
            cli_error("%s", err.message);
            return CLI_RUNTIME;
        }
        m.accuracy = acc;
        cli_progress_units(&j->ss.progress, &m);
        m.has = (acc >= 0.0 ? CLI_HAS_ACC : 0u) | (j->test ? CLI_HAS_TEST : 0u) |
                (j->test && m.test_accuracy >= 0.0 ? CLI_HAS_TEST_ACC : 0u);
        cli_jt_add(out, "{\"stopped_epoch\": %d, \"stopped_batch\": %ld", at_epoch, at_batch);
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

/* What the run leaves in the model file besides the weights; final NULL:
 * what a checkpoint keeps, before any epoch is done. */
int train_build_meta(const job *j, const cli_jtext *final, bp_meta *meta)
{
    const settings *s = &j->s;
    char num[32], d[512];
    int I = bp_dataset_inputs(j->train), rc;
    /* the epochs done: one cut short by a signal does not count */
    int cut = j->interrupted && j->ss.at_batch < j->ss.batches && j->res.epochs_run > 0;
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
        (rc = put(meta, "precision", bp_precision_name(s->precision))) != 0 ||
        (final && (rc = put_long(meta, "epochs", j->res.epochs_run - (cut ? 1 : 0))) != 0))
        return rc;
    if (final && j->interrupted) {
        char at[128];
        snprintf(at, sizeof at, "epoch %d of %ld, batch %ld of %ld", j->ss.at_epoch,
                 j->s.epochs, j->ss.at_batch, j->ss.batches);
        if ((rc = put(meta, "interrupted", at)) != 0)
            return rc;
    }
    if ((s->no_shuffle && (rc = put(meta, "shuffle", "false")) != 0) ||
        (s->val_split > 0.0 && (rc = put(meta, "val_split", cli_num(num, s->val_split))) != 0) ||
        (s->patience > 0 && (rc = put_long(meta, "patience", s->patience)) != 0) ||
        (s->clip > 0.0 && (rc = put(meta, "clip", cli_num(num, s->clip))) != 0) ||
        (s->dropout > 0.0 && (rc = put(meta, "dropout", cli_num(num, s->dropout))) != 0) ||
        (s->parts > 0 && (rc = put_long(meta, "deterministic_parts", s->parts)) != 0) ||
        (s->init && (rc = put(meta, "init", s->init)) != 0) ||
        (!s->init && (rc = put(meta, "init_scheme", train_scheme_name(j->scheme))) != 0))
        return rc;
    if (bp_dataset_schema(j->train) &&
        (rc = put(meta, "schema", bp_dataset_schema(j->train))) != 0)
        return rc;
    if (j->class_weight) {
        /* a JSON array, one weight per class in class order */
        int C = bp_dataset_classes(j->train);
        char *w = malloc((size_t)C * 34 + 2), b[32];
        size_t n = 0;
        if (!w) {
            cli_error("out of memory");
            return CLI_RUNTIME;
        }
        for (int c = 0; c < C; c++)
            n += (size_t)sprintf(w + n, "%s%s", c ? ", " : "[", cli_fnum(b, j->class_weight[c]));
        strcpy(w + n, "]");
        rc = put(meta, "class_weight", w);
        free(w);
        if (rc != 0 || (rc = put(meta, "class_weight_rule", s->class_weight)) != 0)
            return rc;
    }
    if ((rc = put(meta, "data", cli_data_describe(d, sizeof d, j->train, j->net))) != 0 ||
        (j->test &&
         (rc = put(meta, "test_data", cli_data_describe(d, sizeof d, j->test, j->net))) != 0) ||
        (final && final->len > 0 && (rc = put_json(meta, "final_metrics", final)) != 0))
        return rc;
    return put(meta, "created_by", "backprop train");
}

/* The task, why, the class names and the target's units, as JSON members. */
static void print_json_task(const job *j)
{
    int C = bp_dataset_classes(j->train);
    const char *reason = bp_dataset_task_reason(j->train);
    char b[32];
    printf(", \"task\": \"%s\"", C > 0 ? "classify" : "regress");
    if (reason && reason[0]) {
        printf(", \"task_reason\": ");
        cli_json_string(stdout, reason);
    }
    if (C > 0 && bp_dataset_class_name(j->train, 0)) {
        printf(", \"classes\": [");
        for (int c = 0; c < C; c++) {
            const char *n = bp_dataset_class_name(j->train, c);
            printf("%s", c ? ", " : "");
            cli_json_string(stdout, n ? n : "");
        }
        printf("]");
    }
    if (j->class_weight) {
        printf(", \"class_weight\": [");
        for (int c = 0; c < C; c++) {
            printf("%s", c ? ", " : "");
            fputs(cli_fnum(b, j->class_weight[c]), stdout); /* finite: checked */
        }
        printf("]");
    }
    if (j->t_scaled) {
        printf(", \"target_mean\": ");
        cli_json_number(stdout, j->t_mean);
        printf(", \"target_scale\": ");
        cli_json_number(stdout, j->t_scale);
        printf(", \"loss_units\": \"%s\"", j->loss == BP_LOSS_MAE ? "target" : "target squared");
    }
}

void train_print_json(const job *j, const char *model, const char *log)
{
    const bp_train_result *res = &j->res;
    char d[512];
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
    if (j->interrupted) {
        printf(", \"stopped\": \"interrupted\", \"stopped_epoch\": %d, \"stopped_batch\": %ld",
               j->ss.at_epoch, j->ss.at_batch);
    } else if (res->nonfinite) {
        printf(", \"stopped\": \"nonfinite\", \"stopped_epoch\": %d, \"stopped_batch\": %ld",
               res->bad_epoch, res->bad_batch);
        if (res->bad_layer >= 0)
            printf(", \"stopped_layer\": %d", res->bad_layer);
    } else if (j->diverged) {
        printf(", \"stopped\": \"diverged\"");
    } else if (res->early_stopped) {
        printf(", \"stopped\": \"early\"");
    }
    if (res->best_epoch > 0)
        printf(", \"best_epoch\": %d", res->best_epoch);
    print_json_task(j);
    printf(", \"data\": ");
    cli_json_string(stdout, cli_data_describe(d, sizeof d, j->train, j->net));
    printf(", ");
    cli_json_net(stdout, j->net);
    printf(", \"threads\": %d, \"gemm\": \"%s\", \"precision\": \"%s\"", bp_threads(),
           bp_gemm_backend(), bp_precision_name(bp_net_precision(j->net)));
    if (isfinite(j->ss.startup)) {
        printf(", \"startup_seconds\": ");
        cli_json_number(stdout, j->ss.startup);
    }
    printf("}\n");
}

