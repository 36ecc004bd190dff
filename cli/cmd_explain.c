/*
 * cmd_explain.c - `backprop explain`: one sample through a small network,
 * forward and backward, with every slope written as the product of its
 * three factors (bp_explain_sample_d; networks with conv or pool layers,
 * and --weight, in explain_weight.c), and with --lr one plain step of
 * gradient descent and what it changed. Weights come from a model file,
 * from --weights or from a seeded He-normal initialisation. Every figure is
 * computed in double from the network's float weights and the sample as
 * given (the step too: w - lr x slope, then the forward pass again), and
 * shown as the shortest decimal that reads back as the same float, so that
 * 1 - 0.01 x 42 shows as 0.58, as the lessons print it.
 */
#include "cli.h"
#include "explain.h"
#include "model.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "explain";

/* Sums longer than this are shown by their value only. */
#define MAX_TERMS 4

static const cli_help HELP = {
    "explain",
    "backprop explain (--net SPEC | --model MODEL) --input LIST --target LIST\n"
    "                        [OPTIONS]",
    "Run one sample forward and backward and show every slope of the loss as\n"
    "the product of its three factors. With --lr, then take one step of plain\n"
    "gradient descent and show every weight before and after, and the new\n"
    "prediction and loss.",
    "A network with convolution or pooling layers gets a summary instead: each\n"
    "layer's output shape, the loss, and each layer's largest slopes. A\n"
    "convolution's weight takes part in one product per position of its filter\n"
    "on the input; --weight lists them (input and output nodes as c,y,x), and\n"
    "with --lr the step shows that weight only.",
    "Exit status: 0 on success, 1 on a runtime error (such as a bad model file),\n"
    "2 on bad usage.",
    "  backprop explain --net 2,2:relu:nobias,1:relu:nobias --weights '2,1;1,2/1,1' \\\n"
    "      --input 0,3 --target 3\n"
    "  backprop explain --net 3,1:identity:nobias --weights '0,2,1' --input 1,2,3 --target 0 \\\n"
    "      --lr 0.01\n"
    "  backprop explain --model examples/lesson.json --input 0,3 --target 3 --json\n"
    "  backprop explain --net 1x3x3,conv:1:2,1 --weights '1,0,0,0/1,1,1,1' --input 1,2,3,4,5,6,7,8,9 \\\n"
    "      --target 0 --weight 0:0,0,1,1\n"};

/* Name of the nodes of layer l's output ("y" for the last layer, "h" for a
 * single hidden layer, "h1", "h2", ... for several); l = -1 is the input. */
void explain_node_name(char *buf, size_t size, int l, int L)
{
    if (l < 0)
        snprintf(buf, size, "x");
    else if (l == L - 1)
        snprintf(buf, size, "y");
    else if (L == 2)
        snprintf(buf, size, "h");
    else
        snprintf(buf, size, "h%d", l + 1);
}

/* A figure computed in double, as the shortest decimal that reads back as
 * the float nearest it, and of those the one nearest the double (so 0.3936
 * squared shows as 0.15492096, where the float's own shortest form is
 * 0.15492097); outside float's range, as the shortest that reads back as
 * the double. buf holds 32 bytes. */
const char *explain_fig(char *buf, double v)
{
    double a = fabs(v);
    float f = (float)v;
    if (!isfinite(v) || a > FLT_MAX || (a != 0.0 && a < FLT_MIN))
        return cli_num(buf, v);
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, 32, "%.*g", p, v);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    const char *e = strchr(buf, 'e');
    if (e && e[1] == '+') { /* 1e+02 reads better as 100 */
        int exponent = atoi(e + 2);
        if (exponent < 9)
            snprintf(buf, 32, "%.*g", exponent + 1, v);
    }
    return buf;
}

/* The same as a JSON number, and an array of them. */
void explain_json_fig(double v)
{
    char buf[32];
    if (isfinite(v))
        fputs(explain_fig(buf, v), stdout);
    else
        cli_json_number(stdout, v);
}

void explain_json_figs(const double *v, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", stdout);
        explain_json_fig(v[i]);
    }
    putchar(']');
}

static int num_width(double v)
{
    char buf[32];
    return (int)strlen(explain_fig(buf, v));
}

/* A factor of a product: negative numbers in parentheses. */
static const char *factor(char *buf, size_t size, double v)
{
    char num[32];
    snprintf(buf, size, v < 0 ? "(%s)" : "%s", explain_fig(num, v));
    return buf;
}

/* raw is the sample as given; NULL when the network sees it unscaled. */
static void print_forward(bp_net *net, const bp_explain *ex, const double *raw, const float *t,
                          int T)
{
    char in[16], out[16], n1[32], n2[32];
    const bp_explain_layer *E0 = &ex->layers[0];
    printf("Forward pass\n");
    if (raw) {
        printf("  given:");
        for (int i = 0; i < E0->inputs; i++)
            printf("  %s", explain_fig(n1, raw[i]));
        printf("\n  the model's input scaling: x = (given - shift) x mul\n");
    }
    printf("  input:");
    for (int i = 0; i < E0->inputs; i++)
        printf("  x[%d] = %s", i, explain_fig(n1, E0->input[i]));
    printf("\n");
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        explain_node_name(in, sizeof in, l - 1, ex->n_layers);
        explain_node_name(out, sizeof out, l, ex->n_layers);
        printf("  layer %d (%s, %d node%s)\n", l, bp_act_name(E->act), E->outputs,
               E->outputs == 1 ? "" : "s");
        for (int o = 0; o < E->outputs; o++) {
            printf("    %s[%d] = %s(z = ", out, o, bp_act_name(E->act));
            if (E->inputs <= MAX_TERMS) {
                char f1[32], f2[32];
                for (int i = 0; i < E->inputs; i++)
                    printf("%s%s x %s", i ? " + " : "",
                           factor(f1, sizeof f1,
                                  (double)w[(size_t)o * (size_t)E->inputs + (size_t)i]),
                           factor(f2, sizeof f2, E->input[i]));
                if (b)
                    printf(" + %s", factor(f1, sizeof f1, (double)b[o]));
                printf(" = ");
            }
            printf("%s) = %s\n", explain_fig(n1, E->z[o]), explain_fig(n2, E->value[o]));
        }
    }
    printf("  target:");
    for (int k = 0; k < T; k++)
        printf(T == 1 && ex->layers[ex->n_layers - 1].outputs > 1 ? "  class %s" : "  %s",
               cli_fnum(n1, t[k]));
    printf("\n");
}

static void print_layer_backward(bp_net *net, const bp_explain *ex, int l)
{
    const bp_explain_layer *E = &ex->layers[l];
    const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
    const char *dname = E->combined ? "dL/dz" : "dL/dnode";
    const int last = l == ex->n_layers - 1;
    char in[16], out[16], label[48], f1[32], f2[32], f3[32], n1[32], n2[32], n3[32], n4[32];
    int I = E->inputs, O = E->outputs, lw, ww = 1, sw = 1;
    explain_node_name(in, sizeof in, l - 1, ex->n_layers);
    explain_node_name(out, sizeof out, l, ex->n_layers);

    printf("  layer %d (%s%s)\n", l, bp_act_name(E->act), last ? ", output" : "");
    if (E->combined)
        printf("    softmax: each node depends on every z of the layer, so the slope shown is\n"
               "    dL/dz, the loss's slope for the node's input z, and act' is taken as 1\n");
    if (last)
        for (int o = 0; o < O; o++)
            printf("    %s %s[%d] = %s\n", dname, out, o, explain_fig(n1, E->dnode[o]));
    else
        printf("    dL/dnode of each %s[o] is the node slope found above\n", out);
    /* column widths: labels, weights, slopes */
    lw = snprintf(label, sizeof label, "w[%d][%d][%d]", l, O - 1, I - 1);
    for (size_t k = 0; k < (size_t)O * (size_t)I; k++) {
        int a = num_width((double)w[k]), g = num_width(E->grad_w[k]);
        ww = a > ww ? a : ww;
        sw = g > sw ? g : sw;
    }
    for (int o = 0; b && E->grad_b && o < O; o++) {
        int a = num_width((double)b[o]), g = num_width(E->grad_b[o]);
        ww = a > ww ? a : ww;
        sw = g > sw ? g : sw;
    }
    for (int o = 0; o < O; o++) {
        for (int i = 0; i < I; i++) {
            size_t k = (size_t)o * (size_t)I + (size_t)i;
            snprintf(label, sizeof label, "w[%d][%d][%d]", l, o, i);
            printf("    %-*s = %*s   slope %-*s = value %s x %s %s x act' %s\n", lw, label, ww,
                   cli_fnum(n1, w[k]), sw, explain_fig(n2, E->grad_w[k]),
                   explain_fig(n3, E->input[i]), dname,
                   explain_fig(n4, E->dnode[o]), explain_fig(f1, E->dact[o]));
        }
    }
    for (int o = 0; b && E->grad_b && o < O; o++) {
        snprintf(label, sizeof label, "b[%d][%d]", l, o);
        printf("    %-*s = %*s   slope %-*s = 1 x %s %s x act' %s\n", lw, label, ww,
               cli_fnum(n1, b[o]), sw, explain_fig(n2, E->grad_b[o]), dname,
               explain_fig(n3, E->dnode[o]),
               explain_fig(n4, E->dact[o]));
    }
    /* The slope of each node feeding this layer: the sum over the weights
     * that leave it. */
    for (int i = 0; i < I; i++) {
        printf("    dL/d %s[%d] = ", in, i);
        if (O <= MAX_TERMS) {
            for (int o = 0; o < O; o++)
                printf("%s%s x %s x %s", o ? " + " : "",
                       factor(f1, sizeof f1, (double)w[(size_t)o * (size_t)I + (size_t)i]),
                       factor(f2, sizeof f2, E->dnode[o]), factor(f3, sizeof f3, E->dact[o]));
            printf(" = ");
        }
        printf("%s\n", explain_fig(n1, E->dinput[i]));
    }
}

/* One step of plain gradient descent on the sample, in double: the
 * parameter block before it (the network's floats), the gradient (the
 * breakdown's slopes), the block after it (before - lr x slope) and the
 * breakdown of the sample through the weights after it. */
typedef struct explain_step {
    double lr;
    double *before; /* (P) parameter block before the step */
    double *grad;   /* (P) gradient block the step used */
    double *after;  /* (P) parameter block after the step */
    bp_explain *ex; /* the sample through the weights after the step */
} explain_step;

static void step_free(explain_step *s)
{
    free(s->before);
    free(s->grad);
    free(s->after);
    bp_explain_free(s->ex);
}

/* Where layer l's weights and bias start inside the parameter block. */
static size_t weight_offset(bp_net *net, int l)
{
    return (size_t)(bp_net_weight(net, l) - bp_net_params(net));
}

static size_t bias_offset(bp_net *net, int l)
{
    return (size_t)(bp_net_bias(net, l) - bp_net_params(net));
}

/* Take the step from the breakdown ex and run the sample x through the
 * weights after it. Returns 0 or CLI_RUNTIME (printed). */
static int take_step(bp_net *net, bp_loss loss, const bp_explain *ex, const double *x,
                     const float *t, int T, explain_step *s)
{
    size_t P = bp_net_param_count(net);
    const float *params = bp_net_params(net);
    int lib_rc;

    s->before = malloc(P * sizeof *s->before);
    s->grad = calloc(P, sizeof *s->grad);
    s->after = malloc(P * sizeof *s->after);
    if (!s->before || !s->grad || !s->after) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        if (E->grad_w)
            memcpy(s->grad + weight_offset(net, l), E->grad_w, E->weights * sizeof *s->grad);
        if (E->grad_b && bp_net_bias(net, l)) /* one per output node or filter */
            memcpy(s->grad + bias_offset(net, l), E->grad_b,
                   (size_t)bp_net_layer(net, l).width * sizeof *s->grad);
    }
    for (size_t k = 0; k < P; k++) {
        s->before[k] = (double)params[k];
        s->after[k] = s->before[k] - s->lr * s->grad[k];
    }
    if ((lib_rc = bp_explain_sample_d(net, s->after, loss, x, t, T, &s->ex)) != 0)
        return cli_lib_error("the prediction after the step", lib_rc, net);
    return CLI_OK;
}

/* One line of the step: "LABEL: before - lr x slope = after". */
static void print_step_entry(const char *label, int lw, const char *lr, const explain_step *s,
                             size_t k)
{
    char before[32], slope[40], after[32];
    printf("    %-*s: %s - %s x %s = %s\n", lw, label, explain_fig(before, s->before[k]), lr,
           factor(slope, sizeof slope, s->grad[k]), explain_fig(after, s->after[k]));
}

/* The step as text: every weight's line for a dense network, the one named
 * by --weight when given (only not NULL), else none (a convolution has too
 * many to list). */
static void print_step_text(bp_net *net, bp_loss loss, const bp_explain *ex,
                            const explain_step *s, const float *t, int T,
                            const explain_weight *only)
{
    const int L = bp_net_layers(net), O = bp_net_outputs(net);
    const bp_explain_layer *last = &ex->layers[L - 1], *now = &s->ex->layers[L - 1];
    char lr[32], label[48], out[16], n1[32], n2[32], n3[32], n4[32];

    cli_num(lr, s->lr);
    printf("\nOne step of gradient descent, learning rate %s: every weight moves against\n"
           "its slope, w - %s x slope\n",
           lr, lr);
    if (only) {
        explain_weight_label(label, sizeof label, net, only->layer, only->index);
        print_step_entry(label, (int)strlen(label), lr, s,
                         weight_offset(net, only->layer) + only->index);
    } else if (!explain_all_dense(net)) {
        printf("  (%zu parameters; --weight LAYER:INDEX shows one)\n", bp_net_param_count(net));
    }
    for (int l = 0; !only && explain_all_dense(net) && l < L; l++) {
        int I = bp_net_layer_inputs(net, l), Ol = bp_net_layer(net, l).width;
        size_t w = weight_offset(net, l);
        int lw = snprintf(label, sizeof label, "w[%d][%d][%d]", l, Ol - 1, I - 1);
        printf("  layer %d\n", l);
        for (int o = 0; o < Ol; o++)
            for (int i = 0; i < I; i++) {
                snprintf(label, sizeof label, "w[%d][%d][%d]", l, o, i);
                print_step_entry(label, lw, lr, s, w + (size_t)o * (size_t)I + (size_t)i);
            }
        for (int o = 0; bp_net_bias(net, l) && o < Ol; o++) {
            snprintf(label, sizeof label, "b[%d][%d]", l, o);
            print_step_entry(label, lw, lr, s, bias_offset(net, l) + (size_t)o);
        }
    }
    printf("After the step\n");
    explain_node_name(out, sizeof out, L - 1, L);
    for (int o = 0; o < O; o++) {
        printf("  %s[%d] = %s (was %s)", out, o, explain_fig(n1, now->value[o]),
               explain_fig(n2, last->value[o]));
        if (T == O)
            printf(", target %s, error %s", cli_fnum(n3, t[o]),
                   explain_fig(n4, now->value[o] - (double)t[o]));
        printf("\n");
    }
    if (T != O)
        printf("  target: class %s\n", cli_fnum(n1, t[0]));
    printf("  loss: %s = %s (was %s)\n", bp_loss_name(loss), explain_fig(n1, s->ex->loss),
           explain_fig(n2, ex->loss));
}

/* The step's block entries for layer l, as JSON fields. */
static void print_step_layer_json(bp_net *net, const explain_step *s, int l)
{
    int I = bp_net_layer_inputs(net, l), O = bp_net_layer(net, l).width;
    size_t w = bp_net_weight(net, l) ? weight_offset(net, l) : 0;
    if (bp_net_layer(net, l).kind != BP_LAYER_DENSE) {
        /* flat, in the layout of the weights: (OUT, C, K, K) for conv */
        size_t n = bp_net_weight(net, l) ? bp_net_layer_params(net, l) : 0;
        n -= bp_net_bias(net, l) ? (size_t)O : 0;
        printf("%s\n    {\"layer\": %d, \"grad_w\": ", l ? "," : "", l);
        if (n)
            explain_json_figs(s->grad + w, n);
        else
            printf("null");
        printf(", \"weights\": ");
        if (n)
            explain_json_figs(s->after + w, n);
        else
            printf("null");
    } else {
        printf("%s\n    {\"layer\": %d, \"grad_w\": [", l ? "," : "", l);
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            explain_json_figs(s->grad + w + (size_t)o * (size_t)I, I);
        }
        printf("], \"weights\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            explain_json_figs(s->after + w + (size_t)o * (size_t)I, I);
        }
        printf("]");
    }
    printf(",\n     \"grad_b\": ");
    if (bp_net_bias(net, l))
        explain_json_figs(s->grad + bias_offset(net, l), O);
    else
        printf("null");
    printf(", \"bias\": ");
    if (bp_net_bias(net, l))
        explain_json_figs(s->after + bias_offset(net, l), O);
    else
        printf("null");
    printf("}");
}

static void print_step_json(bp_net *net, const explain_step *s, const float *t, int T)
{
    int L = bp_net_layers(net), O = bp_net_outputs(net);
    const double *y = s->ex->layers[L - 1].value;
    printf(",\n \"step\": {\"lr\": ");
    cli_json_number(stdout, s->lr);
    printf(", \"layers\": [");
    for (int l = 0; l < L; l++)
        print_step_layer_json(net, s, l);
    printf("],\n  \"output\": ");
    explain_json_figs(y, O);
    if (T == O) {
        printf(", \"error\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            explain_json_fig(y[o] - (double)t[o]);
        }
        printf("]");
    }
    printf(", \"loss_value\": ");
    explain_json_fig(s->ex->loss);
    printf("}");
}

/* What the breakdown is of: the network, where its weights came from, the
 * sample as given and whether the model's scaling changed it. */
typedef struct explain_case {
    const char *model;  /* model file, or NULL for --net */
    bp_loss loss;
    const double *raw;  /* (I) --input as given */
    int scaled;         /* 1: the model's input scaling was applied */
    const float *t;     /* (T) target */
    int T;
    const explain_weight *weight; /* --weight, or NULL */
} explain_case;

/* The full breakdown for a dense network; for others, or with --weight,
 * the summary of each layer and the weight's products. */
static int print_text(bp_net *net, const explain_case *c, const bp_explain *ex,
                      const explain_step *step)
{
    char spec[512], n1[32];
    bp_net_spec(net, spec, sizeof spec);
    if (c->model)
        printf("model: %s\n", c->model);
    printf("network %s, loss %s, one sample\n\n", spec, bp_loss_name(c->loss));
    if (c->weight || !explain_all_dense(net)) {
        explain_summary_forward(net, ex, c->loss, c->t, c->T);
        if (!c->weight)
            explain_summary_backward(net, ex);
        else if (explain_weight_text(net, ex, c->weight) != 0)
            return CLI_RUNTIME;
        if (step)
            print_step_text(net, c->loss, ex, step, c->t, c->T, c->weight);
        return CLI_OK;
    }
    printf("Each weight's slope (dL/dw) is the product of three factors: the value of the\n"
           "node that feeds the weight, the slope of the loss with respect to the node the\n"
           "weight feeds (dL/dnode), and the slope of that node's activation at its input\n"
           "(act'). A node's own slope is the sum, over the weights that leave it, of\n"
           "weight x dL/dnode x act' of the node each one feeds.\n\n");
    print_forward(net, ex, c->scaled ? c->raw : NULL, c->t, c->T);
    printf("  loss: %s = %s\n\nBackward pass, from the output back\n", bp_loss_name(c->loss),
           explain_fig(n1, ex->loss));
    for (int l = ex->n_layers - 1; l >= 0; l--)
        print_layer_backward(net, ex, l);
    if (step)
        print_step_text(net, c->loss, ex, step, c->t, c->T, NULL);
    return CLI_OK;
}

static int print_json(bp_net *net, const explain_case *c, const bp_explain *ex,
                      const explain_step *step)
{
    char spec[512];
    bp_net_spec(net, spec, sizeof spec);
    printf("{\"net\": ");
    cli_json_string(stdout, spec);
    printf(", \"model\": ");
    if (c->model)
        cli_json_string(stdout, c->model);
    else
        printf("null");
    printf(", \"loss\": \"%s\", \"input\": ", bp_loss_name(c->loss));
    explain_json_figs(c->raw, bp_net_inputs(net));
    printf(", \"scaled\": %s, \"target\": ", c->scaled ? "true" : "false");
    cli_json_farray(stdout, c->t, c->T);
    printf(", \"loss_value\": ");
    explain_json_fig(ex->loss);
    printf(", \"layers\": [");
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        int I = E->inputs, O = E->outputs;
        printf("%s\n  {\"layer\": %d, \"activation\": \"%s\", \"combined\": %s,\n   \"input\": ",
               l ? "," : "", l, bp_act_name(E->act), E->combined ? "true" : "false");
        explain_json_figs(E->input, I);
        printf(", \"z\": ");
        explain_json_figs(E->z, O);
        printf(", \"value\": ");
        explain_json_figs(E->value, O);
        printf(",\n   \"dnode\": ");
        explain_json_figs(E->dnode, O);
        printf(", \"dact\": ");
        explain_json_figs(E->dact, O);
        if (bp_net_layer(net, l).kind == BP_LAYER_DENSE) {
            printf(",\n   \"weights\": [");
            for (int o = 0; o < O; o++) {
                fputs(o ? ", " : "", stdout);
                cli_json_farray(stdout, w + (size_t)o * (size_t)I, I);
            }
            printf("], \"grad_w\": [");
            for (int o = 0; o < O; o++) {
                fputs(o ? ", " : "", stdout);
                explain_json_figs(E->grad_w + (size_t)o * (size_t)I, I);
            }
            printf("]");
        } else {
            /* flat, in the layout of weight_dims; null for a pool */
            size_t dims[4];
            int rank = bp_net_weight_dims(net, l, dims);
            printf(",\n   \"kind\": \"%s\", \"weight_dims\": [",
                   bp_layer_kind_name(bp_net_layer(net, l).kind));
            for (int k = 0; k < rank; k++)
                printf("%s%zu", k ? ", " : "", dims[k]);
            printf("], \"weights\": ");
            if (w)
                cli_json_farray(stdout, w, (int)E->weights);
            else
                printf("null");
            printf(", \"grad_w\": ");
            if (E->grad_w)
                explain_json_figs(E->grad_w, E->weights);
            else
                printf("null");
        }
        printf(",\n   \"bias\": ");
        if (b)
            cli_json_farray(stdout, b, bp_net_layer(net, l).width);
        else
            printf("null");
        printf(", \"grad_b\": ");
        if (E->grad_b)
            explain_json_figs(E->grad_b, (size_t)bp_net_layer(net, l).width);
        else
            printf("null");
        printf(", \"dinput\": ");
        explain_json_figs(E->dinput, I);
        printf("}");
    }
    printf("\n]");
    if (c->weight && explain_weight_json(net, ex, c->weight) != 0)
        return CLI_RUNTIME;
    if (step)
        print_step_json(net, step, c->t, c->T);
    printf(", ");
    cli_json_net(stdout, net);
    printf("}\n");
    return CLI_OK;
}
/* Targets from --target: one value per output, or one class index for cce
 * with several outputs. */
static int read_targets(const char *s, bp_net *net, bp_loss loss, float **t, int *T)
{
    double *v = NULL;
    int n, rc, O = bp_net_outputs(net);
    if ((rc = cli_parse_list("--target", s, &v, &n)) != 0)
        return rc;
    rc = CLI_USAGE;
    if (loss == BP_LOSS_CCE && O > 1 && n == 1) {
        if (!(v[0] >= 0 && v[0] < O && v[0] == (double)(int)v[0])) {
            cli_error("--target: expected a class index from 0 to %d, got '%s'", O - 1, s);
            goto done;
        }
    } else if (n != O) {
        cli_error("--target: expected %d value%s (one per output%s), got %d in '%s'", O,
                  O == 1 ? "" : "s", loss == BP_LOSS_CCE ? ", or one class index" : "", n, s);
        goto done;
    }
    if (!(*t = malloc((size_t)n * sizeof **t))) {
        cli_error("out of memory");
        rc = CLI_RUNTIME;
        goto done;
    }
    for (int k = 0; k < n; k++)
        (*t)[k] = (float)v[k];
    *T = n;
    rc = 0;
done:
    free(v);
    return rc;
}

/* The sample the network sees, in x (I): the values given, or with a model
 * that has an input scaling, those values scaled by the library through a
 * one-row data set (the arithmetic that scales the model's data). *scaled
 * says which. Returns 0 or CLI_RUNTIME (printed). */
static int scale_input(const cli_model *m, int I, float *x, int *scaled)
{
    const float target = 0.0f; /* unused, but a data set needs one column */
    bp_dataset *ds;
    bp_error err;
    int rc;
    *scaled = 0;
    if (!bp_meta_get(m->meta, "scaling"))
        return CLI_OK;
    if (!(ds = bp_dataset_from_arrays(1, I, 1, x, &target, 0, &err))) {
        cli_error("%s", err.message);
        return CLI_RUNTIME;
    }
    if ((rc = cli_model_scale(m, ds)) == CLI_OK) {
        int lib_rc = bp_dataset_gather(ds, NULL, 0, 1, x, NULL);
        if (lib_rc != 0) {
            cli_error("scaling the input: %s", bp_strerror(lib_rc));
            rc = CLI_RUNTIME;
        }
    }
    bp_dataset_free(ds);
    *scaled = rc == CLI_OK;
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    const char *spec = NULL, *model_path = NULL, *weights = NULL, *biases = NULL;
    const char *input = NULL, *target = NULL, *loss_name = NULL, *weight_arg = NULL;
    explain_weight chosen = {0, 0};
    uint64_t seed = 1;
    double lr = 0.0;
    int json = 0, seed_given = 0, rc = CLI_USAGE, n_in = 0, T = 0, scaled = 0;
    cli_model m = {NULL, NULL};
    bp_net *net = NULL;
    bp_loss loss;
    double *xd = NULL, *xs = NULL;
    float *x = NULL, *t = NULL;
    bp_explain *ex = NULL;
    explain_step step = {0.0, NULL, NULL, NULL, NULL};

    const cli_opt opts[] = {
        {"net", CLI_OPT_STRING, "SPEC", &spec, .help = "the network, e.g. 2,2:relu:nobias,1:relu:nobias"},
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "a model file, safetensors or JSON, with its weights; its input scaling, if it "
                 "has one, is applied to --input (exactly one of --net and --model is required)"},
        {"weights", CLI_OPT_STRING, "W", &weights,
         .help = "the weights of every layer that has them (--net only): layers separated by "
                 "'/', rows (one per node, or per conv filter: its C x K x K values) by ';', "
                 "values by ','; e.g. '2,1;1,2/1,1'",
         .def = "He normal from --seed"},
        {"biases", CLI_OPT_STRING, "B", &biases,
         .help = "biases of the layers that have one (--net only): layers by '/', values by ','",
         .def = "0, or from --seed without --weights"},
        {"seed", CLI_OPT_SEED, "N", &seed, .given = &seed_given,
         .help = "seed of the He-normal weights when --weights is not given (--net only)",
         .def = "1"},
        {"input", CLI_OPT_STRING, "LIST", &input, .help = "the sample, comma-separated (required)"},
        {"target", CLI_OPT_STRING, "LIST", &target,
         .help = "its target: one value per output, or one class index for cce (required)"},
        {"loss", CLI_OPT_STRING, "NAME", &loss_name, .help = "mse, mae, bce or cce",
         .def = "the loss saved with the model, else cce after softmax, bce after sigmoid, "
                "else mse"},
        {"lr", CLI_OPT_POSITIVE, "F", &lr,
         .help = "after the breakdown, take one gradient-descent step w - F x slope and show its "
                 "effect",
         .def = "no step"},
        {"weight", CLI_OPT_STRING, "L:INDEX", &weight_arg,
         .help = "show one weight's slope as the sum of its products, the largest first: "
                 "layer L's weight O,I (dense) or OUT,C,KY,KX (conv), e.g. 0:3,0,1,2 (in "
                 "parentheses or not), or its flat index, e.g. 0:7",
         .def = "every weight of a dense network; each layer's largest slopes otherwise"},
        {"json", CLI_OPT_FLAG, NULL, &json, .help = "print every figure as JSON, ending with the network's layers and "
                 "their shapes (\"network\", as info --json gives them)"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto done;
    }
    rc = CLI_USAGE;
    if (spec && model_path) {
        rc = cli_usage(CMD, "give either --net or --model, not both");
        goto done;
    }
    if (model_path && (weights || biases || seed_given)) {
        rc = cli_usage(CMD, "%s goes with --net; a model brings its own weights",
                       weights ? "--weights" : biases ? "--biases" : "--seed");
        goto done;
    }
    if (!spec && !model_path) {
        rc = cli_usage(CMD, "--net is required (or --model)");
        goto done;
    }
    if (!input || !target) {
        rc = cli_usage(CMD, "%s is required", !input ? "--input" : "--target");
        goto done;
    }
    /* A bad --loss is a usage error whatever the network. */
    if (loss_name && cli_parse_loss("--loss", loss_name, NULL, &loss))
        goto done;
    if ((rc = cli_model_or_net(model_path, spec, loss_name, &m, &loss)) != 0)
        goto done;
    net = m.net;
    if (!model_path) {
        if (weights) {
            if ((rc = cli_parse_weights("--weights", weights, net)) != 0)
                goto done;
        } else {
            bp_rng rng;
            bp_rng_seed(&rng, seed);
            int lib_rc = bp_net_init(net, &rng, BP_INIT_HE_NORMAL, 0.0);
            if (lib_rc != 0) {
                rc = cli_lib_error("initialising the network", lib_rc, net);
                goto done;
            }
        }
        if (biases && (rc = cli_parse_biases("--biases", biases, net)) != 0)
            goto done;
    }
    if (weight_arg && (rc = explain_weight_parse(weight_arg, net, &chosen)) != 0)
        goto done;
    if ((rc = cli_parse_list("--input", input, &xd, &n_in)) != 0)
        goto done;
    rc = CLI_USAGE;
    if (n_in != bp_net_inputs(net)) {
        cli_error("--input: expected %d value%s (the network's inputs), got %d in '%s'",
                  bp_net_inputs(net), bp_net_inputs(net) == 1 ? "" : "s", n_in, input);
        goto done;
    }
    if ((rc = read_targets(target, net, loss, &t, &T)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(x = malloc((size_t)n_in * sizeof *x)) || !(xs = malloc((size_t)n_in * sizeof *xs))) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        x[i] = (float)xd[i];
    if (model_path && scale_input(&m, n_in, x, &scaled) != 0)
        goto done;
    /* The sample as given, in double; scaled by the library when the model
     * says so. */
    for (int i = 0; i < n_in; i++)
        xs[i] = scaled ? (double)x[i] : xd[i];
    int lib_rc = bp_explain_sample_d(net, NULL, loss, xs, t, T, &ex);
    if (lib_rc != 0) {
        rc = cli_lib_error("explain", lib_rc, net);
        goto done;
    }
    step.lr = lr;
    if (lr > 0.0 && take_step(net, loss, ex, xs, t, T, &step) != 0)
        goto done;

    explain_case what = {model_path, loss, xd, scaled, t, T, weight_arg ? &chosen : NULL};
    if (json)
        rc = print_json(net, &what, ex, lr > 0.0 ? &step : NULL);
    else
        rc = print_text(net, &what, ex, lr > 0.0 ? &step : NULL);
done:
    step_free(&step);
    bp_explain_free(ex);
    /* m.net is the network in both cases; m.meta is NULL for --net. */
    cli_model_free(&m);
    free(xd);
    free(xs);
    free(x);
    free(t);
    return rc;
}
