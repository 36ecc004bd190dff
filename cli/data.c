/*
 * data.c - the user's data as the commands read them: data options into
 * the library's, the training data encoded by them, and other data
 * encoded by the training's saved schema (see data.h).
 */
#include "data.h"

#include <stdlib.h>
#include <string.h>

const char *const cli_data_tasks[] = {"auto", "classify", "regress", NULL};
const char *const cli_data_missing[] = {"error", "drop", "mean", NULL};

static void notice(void *ctx, const char *line)
{
    (void)ctx;
    cli_error("%s", line);
}

int cli_data_opts(const cli_data *d, bp_data_opts *o)
{
    static const bp_task tasks[] = {BP_TASK_AUTO, BP_TASK_CLASSIFY, BP_TASK_REGRESS};
    static const bp_missing missing[] = {BP_MISSING_ERROR, BP_MISSING_DROP, BP_MISSING_MEAN};
    bp_data_opts_defaults(o);
    if (d->sep) {
        if (strcmp(d->sep, "tab") == 0 || strcmp(d->sep, "\\t") == 0)
            o->sep = '\t';
        else if (strlen(d->sep) == 1 && d->sep[0] != '"' && d->sep[0] != '\n' &&
                 d->sep[0] != '\r')
            o->sep = d->sep[0];
        else
            return cli_usage(d->cmd, "--sep: expected one character or 'tab', found '%s'", d->sep);
    }
    if (d->header && d->no_header)
        return cli_usage(d->cmd, "--header and --no-header contradict each other");
    o->header = d->header ? 1 : d->no_header ? 0 : -1;
    if (d->standardize && d->no_standardize)
        return cli_usage(d->cmd, "--standardize and --no-standardize contradict each other");
    o->features = d->features;
    o->drop = d->drop;
    o->task = tasks[d->task];
    o->missing = missing[d->missing];
    o->standardize = !d->no_standardize;
    if (!d->quiet)
        o->notice = notice;
    return CLI_OK;
}

bp_dataset *cli_data_load_train(const char *spec, const cli_data *d, uint64_t seed)
{
    bp_data_opts o;
    bp_error err;
    bp_dataset *ds;
    int lib;
    if (cli_data_opts(d, &o) != CLI_OK)
        return NULL;
    if (!(ds = bp_dataset_load_opts(spec, &o, seed, &err))) {
        cli_error("%s", err.message);
        return NULL;
    }
    /* text read with a schema is standardized already; other sources on demand */
    if (d->standardize && !bp_dataset_schema(ds) && (lib = bp_dataset_standardize(ds)) != 0) {
        cli_error("--standardize: %s", bp_strerror(lib));
        bp_dataset_free(ds);
        return NULL;
    }
    return ds;
}

bp_dataset *cli_data_load_schema(const char *spec, const char *schema, int needs_label,
                                 const cli_data *d, uint64_t seed)
{
    bp_data_opts o;
    bp_error err;
    bp_dataset *ds;
    if (cli_data_opts(d, &o) != CLI_OK)
        return NULL;
    ds = schema ? bp_dataset_load_schema(spec, schema, needs_label, &o, seed, &err)
                : bp_dataset_load(spec, seed, &err);
    if (!ds)
        cli_error("%s", err.message);
    return ds;
}

bp_dataset *cli_data_load_model(const cli_model *m, const char *spec, int needs_label,
                                const cli_data *d, uint64_t seed)
{
    const char *schema = bp_meta_get(m->meta, "schema");
    char *positional = NULL;
    bp_dataset *ds;
    /* no schema and no label needed: the model's inputs by position, so a
     * file of the inputs alone is read as that (a last column, a label) */
    if (!schema && !needs_label && !(schema = positional = cli_model_positional_schema(m)))
        return NULL;
    ds = cli_data_load_schema(spec, schema, needs_label, d, seed);
    free(positional);
    if (ds && cli_model_scale(m, ds) != 0) {
        bp_dataset_free(ds);
        return NULL;
    }
    return ds;
}

const char *cli_data_describe(char *buf, size_t size, const bp_dataset *ds, const bp_net *net)
{
    const char *d = bp_dataset_describe(ds), *at;
    bp_shape in = bp_net_input_shape(net);
    char flat[48];
    int I = bp_dataset_inputs(ds);
    snprintf(buf, size, "%s", d);
    /* the count as bp_dataset_describe writes it: "(R rows, I inputs, ..." */
    snprintf(flat, sizeof flat, ", %d inputs,", I);
    if (in.h == 0 || bp_shape_size(in) != (size_t)I || !(at = strstr(d, flat)))
        return buf;
    snprintf(buf, size, "%.*s, %dx%dx%d inputs,%s", (int)(at - d), d, in.c, in.h, in.w,
             at + strlen(flat));
    return buf;
}
