/*
 * model.c - loading models and data for the subcommands, with the errors
 * printed the one way the tool prints them.
 */
#include "model.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_model_load(const char *path, cli_model *m)
{
    return cli_model_load_spec(path, NULL, m);
}

int cli_model_load_spec(const char *path, const char *spec, cli_model *m)
{
    bp_error err;
    memset(m, 0, sizeof *m);
    if (!path || !path[0]) {
        cli_error("no model file given");
        return CLI_USAGE;
    }
    /* a checkpoint serves as the model it would have saved */
    if (bp_checkpoint_is(path))
        m->net = bp_checkpoint_load_model(path, &m->meta, &err);
    else
        m->net = bp_model_load_spec(path, spec, &m->meta, &err);
    if (!m->net) {
        cli_error("%s", err.message);
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

void cli_model_free(cli_model *m)
{
    bp_net_free(m->net);
    bp_meta_free(m->meta);
    m->net = NULL;
    m->meta = NULL;
}

int cli_model_loss(const cli_model *m, const char *name, bp_loss *out)
{
    const char *saved = bp_meta_get(m->meta, "loss");
    if (!name && saved && bp_loss_parse(saved, out) == 0)
        return CLI_OK;
    return cli_parse_loss("--loss", name, m->net, out);
}

int cli_model_or_net(const char *path, const char *spec, const char *name, cli_model *m,
                     bp_loss *loss)
{
    int rc;
    if (path) {
        if ((rc = cli_model_load_spec(path, spec, m)) != 0)
            return rc;
    } else if (!(m->net = cli_parse_net("--net", spec))) {
        return CLI_USAGE;
    }
    return cli_model_loss(m, name, loss);
}

bp_dataset *cli_data_load(const char *spec, uint64_t seed)
{
    bp_error err;
    bp_dataset *ds = bp_dataset_load(spec, seed, &err);
    if (!ds)
        cli_error("%s", err.message);
    return ds;
}

int cli_model_scale(const cli_model *m, bp_dataset *ds)
{
    int n = bp_dataset_inputs(ds), rc;
    bp_error err;
    if (bp_net_check_inputs(m->net, ds, NULL, &err) != 0) {
        cli_error("%s", err.message);
        return CLI_RUNTIME;
    }
    float *v = malloc(2 * (size_t)n * sizeof *v);
    if (!v) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    rc = bp_meta_get_scaling(m->meta, n, v, v + n, &err);
    if (rc == 0)
        rc = bp_dataset_set_scaling(ds, v, v + n);
    free(v);
    if (rc < 0) {
        cli_error("%s", rc == BP_EFORMAT ? err.message : bp_strerror(rc));
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

char *cli_model_positional_schema(const cli_model *m)
{
    int n = bp_net_inputs(m->net);
    size_t cap = 256 + (size_t)n * 64, k;
    char *s = malloc(cap);
    if (!s) {
        cli_error("out of memory");
        return NULL;
    }
    k = (size_t)snprintf(s, cap, "{\"format\": \"backprop-data\", \"version\": 1, "
                         "\"header\": false, \"columns\": %d, \"missing\": \"error\", "
                         "\"inputs\": [", n + 1);
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s{\"name\": null, \"position\": %d, "
                              "\"kind\": \"number\"}", i ? ", " : "", i);
    snprintf(s + k, cap - k, "], \"label\": {\"name\": null, \"position\": %d, \"kind\": "
             "\"number\"}, \"task\": \"regress\", \"reason\": \"\"}", n);
    return s;
}
