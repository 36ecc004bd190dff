/*
 * json_net.c - a network's layers as JSON, the one form that info, train,
 * eval, predict, lr-find and report print under --json: the spec, the
 * input shape and, per layer, its entry, kind, flat sizes, output shape,
 * activation, weight dimensions, bias and parameter count.
 */
#include "cli.h"

#include <stdlib.h>

/* A shape as a JSON array: [n] for a flat vector, [c, h, w] for an image. */
static void json_shape(FILE *f, bp_shape s)
{
    if (s.h == 0 && s.w == 0)
        fprintf(f, "[%d]", s.c);
    else
        fprintf(f, "[%d, %d, %d]", s.c, s.h, s.w);
}

static void act_name(char *buf, size_t size, bp_layer_desc d)
{
    if (d.act == BP_ACT_LEAKY_RELU)
        snprintf(buf, size, "%s=%g", bp_act_name(d.act),
                 (double)(d.slope > 0.0f ? d.slope : BP_LEAKY_SLOPE_DEFAULT));
    else
        snprintf(buf, size, "%s", bp_act_name(d.act));
}

void cli_json_net_members(FILE *f, const bp_net *net)
{
    char spec[4096], act[64];
    int L = bp_net_layers(net);
    fputs("\"spec\": ", f);
    if (bp_net_spec(net, spec, sizeof spec) < (int)sizeof spec)
        cli_json_string(f, spec);
    else /* longer than any network this tool builds */
        fputs("null", f);
    fprintf(f, ", \"inputs\": %d, \"outputs\": %d, \"input_shape\": ", bp_net_inputs(net),
            bp_net_outputs(net));
    json_shape(f, bp_net_input_shape(net));
    fputs(", \"layers\": [", f);
    for (int l = 0; l < L; l++) {
        bp_layer_desc d = bp_net_layer(net, l);
        bp_shape out = bp_net_layer_shape(net, l);
        size_t dims[4];
        int rank = bp_net_weight_dims(net, l, dims);
        char entry[256];
        if (cli_spec_entry(net, l, entry, sizeof entry) != 0)
            snprintf(entry, sizeof entry, "?");
        act_name(act, sizeof act, d);
        fprintf(f, "%s\n  {\"layer\": %d, \"entry\": ", l ? "," : "", l);
        cli_json_string(f, entry);
        fprintf(f, ", \"kind\": \"%s\", \"inputs\": %d, \"outputs\": %zu, \"shape\": ",
                bp_layer_kind_name(d.kind), bp_net_layer_inputs(net, l), bp_shape_size(out));
        json_shape(f, out);
        fputs(", \"activation\": ", f);
        if (rank > 0)
            cli_json_string(f, act);
        else
            fputs("null", f);
        fputs(", \"weight_dims\": [", f);
        for (int k = 0; k < rank; k++)
            fprintf(f, "%s%zu", k ? ", " : "", dims[k]);
        fprintf(f, "], \"bias\": %s, \"parameters\": %zu}", d.bias ? "true" : "false",
                bp_net_layer_params(net, l));
    }
    fprintf(f, "\n], \"parameters\": %zu", bp_net_param_count(net));
}

void cli_json_net(FILE *f, const bp_net *net)
{
    fputs("\"network\": {", f);
    cli_json_net_members(f, net);
    fputs("}", f);
}
