/*
 * cmd_explain.c - `backprop explain`: one sample through a small network,
 * forward and backward, with every slope written as the product of its
 * three factors (bp_explain_sample), and with --lr one plain step of
 * gradient descent (bp_net_gradient, then bp_gd_step) and what it changed.
 * Weights come from a model file, from --weights or from a seeded He-normal
 * initialisation. Everything is computed before anything is printed; the
 * network then holds its weights from before the step again, so the
 * breakdown shows the weights it explains.
 */
#include "cli.h"
#include "model.h"

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
    NULL,
    "Exit status: 0 on success, 1 on a runtime error (such as a bad model file),\n"
    "2 on bad usage.",
    "  backprop explain --net 2,2:relu:nobias,1:relu:nobias --weights '2,1;1,2/1,1' \\\n"
    "      --input 0,3 --target 3\n"
    "  backprop explain --net 3,1:identity:nobias --weights '0,2,1' --input 1,2,3 --target 0 \\\n"
    "      --lr 0.01\n"
    "  backprop explain --model examples/lesson.json --input 0,3 --target 3 --json\n"};

/* Name of the nodes of layer l's output ("y" for the last layer, "h" for a
 * single hidden layer, "h1", "h2", ... for several); l = -1 is the input. */
static void node_name(char *buf, size_t size, int l, int L)
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

static int num_width(double v)
{
    char buf[32];
    return snprintf(buf, sizeof buf, "%g", v);
}

/* A factor of a product: negative numbers in parentheses. */
static const char *factor(char *buf, size_t size, double v)
{
    snprintf(buf, size, v < 0 ? "(%g)" : "%g", v);
    return buf;
}

/* raw is the sample as given; NULL when the network sees it unscaled. */
static void print_forward(bp_net *net, const bp_explain *ex, const double *raw, const float *t,
                          int T)
{
    char in[16], out[16];
    const bp_explain_layer *E0 = &ex->layers[0];
    printf("Forward pass\n");
    if (raw) {
        printf("  given:");
        for (int i = 0; i < E0->inputs; i++)
            printf("  %g", raw[i]);
        printf("\n  the model's input scaling: x = (given - shift) x mul\n");
    }
    printf("  input:");
    for (int i = 0; i < E0->inputs; i++)
        printf("  x[%d] = %g", i, E0->input[i]);
    printf("\n");
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        node_name(in, sizeof in, l - 1, ex->n_layers);
        node_name(out, sizeof out, l, ex->n_layers);
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
            printf("%g) = %g\n", E->z[o], E->value[o]);
        }
    }
    printf("  target:");
    for (int k = 0; k < T; k++)
        printf(T == 1 && ex->layers[ex->n_layers - 1].outputs > 1 ? "  class %g" : "  %g",
               (double)t[k]);
    printf("\n");
}

static void print_layer_backward(bp_net *net, const bp_explain *ex, int l)
{
    const bp_explain_layer *E = &ex->layers[l];
    const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
    const char *dname = E->combined ? "dL/dz" : "dL/dnode";
    const int last = l == ex->n_layers - 1;
    char in[16], out[16], label[48], f1[32], f2[32], f3[32];
    int I = E->inputs, O = E->outputs, lw, ww = 1, sw = 1;
    node_name(in, sizeof in, l - 1, ex->n_layers);
    node_name(out, sizeof out, l, ex->n_layers);

    printf("  layer %d (%s%s)\n", l, bp_act_name(E->act), last ? ", output" : "");
    if (E->combined)
        printf("    softmax: each node depends on every z of the layer, so the slope shown is\n"
               "    dL/dz, the loss's slope for the node's input z, and act' is taken as 1\n");
    if (last)
        for (int o = 0; o < O; o++)
            printf("    %s %s[%d] = %g\n", dname, out, o, E->dnode[o]);
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
            printf("    %-*s = %*g   slope %-*g = value %g x %s %g x act' %g\n", lw, label, ww,
                   (double)w[k], sw, E->grad_w[k], E->input[i], dname, E->dnode[o], E->dact[o]);
        }
    }
    for (int o = 0; b && E->grad_b && o < O; o++) {
        snprintf(label, sizeof label, "b[%d][%d]", l, o);
        printf("    %-*s = %*g   slope %-*g = 1 x %s %g x act' %g\n", lw, label, ww,
               (double)b[o], sw, E->grad_b[o], dname, E->dnode[o], E->dact[o]);
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
        printf("%g\n", E->dinput[i]);
    }
}

/* One step of plain gradient descent on the sample: the parameter block
 * before and after it, the gradient it used, and the prediction and loss
 * after it. */
typedef struct explain_step {
    double lr;
    float *before; /* (P) parameter block before the step */
    float *grad;   /* (P) gradient block the step used */
    float *after;  /* (P) parameter block after the step */
    float *out;    /* (O) prediction after the step */
    double loss;   /* loss after the step */
} explain_step;

static void step_free(explain_step *s)
{
    free(s->before);
    free(s->grad);
    free(s->after);
    free(s->out);
}

/* Take the step on the network through the library (bp_net_gradient on the
 * one sample, bp_gd_step, then bp_net_forward and bp_net_evaluate for the
 * new prediction and loss), record it in s, and put the weights from before
 * the step back. Returns 0 or CLI_RUNTIME (printed). */
static int take_step(bp_net *net, bp_loss loss, const float *x, const float *t, int T,
                     explain_step *s)
{
    size_t bytes = bp_net_param_count(net) * sizeof(float);
    int O = bp_net_outputs(net), lib_rc, rc = CLI_RUNTIME;
    float *params = bp_net_params(net);
    const float *y;
    double value;

    s->before = malloc(bytes);
    s->grad = malloc(bytes);
    s->after = malloc(bytes);
    s->out = malloc((size_t)O * sizeof *s->out);
    if (!s->before || !s->grad || !s->after || !s->out) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    memcpy(s->before, params, bytes);
    if ((lib_rc = bp_net_gradient(net, loss, 1, x, t, T, &value)) != 0) {
        rc = cli_lib_error("the gradient for the step", lib_rc, net);
        goto restore;
    }
    memcpy(s->grad, bp_net_grads(net), bytes);
    if ((lib_rc = bp_gd_step(net, s->lr)) != 0) {
        rc = cli_lib_error("the gradient-descent step", lib_rc, net);
        goto restore;
    }
    memcpy(s->after, params, bytes);
    if ((lib_rc = bp_net_evaluate(net, loss, 1, x, t, T, &s->loss, NULL)) != 0 ||
        (lib_rc = bp_net_forward(net, 1, x, &y)) != 0) {
        rc = cli_lib_error("the prediction after the step", lib_rc, net);
        goto restore;
    }
    memcpy(s->out, y, (size_t)O * sizeof *s->out);
    rc = CLI_OK;
restore:
    memcpy(params, s->before, bytes);
    return rc;
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

/* A float as a factor of a product: negative numbers in parentheses. */
static const char *ffactor(char *buf, size_t size, float v)
{
    char num[32];
    snprintf(buf, size, v < 0 ? "(%s)" : "%s", cli_fnum(num, v));
    return buf;
}

/* One line of the step: "LABEL: before - lr x slope = after". The figures
 * are the floats the network holds, each in the shortest form that reads
 * back as the same float. */
static void print_step_entry(const char *label, int lw, const char *lr, const explain_step *s,
                             size_t k)
{
    char before[32], slope[40], after[32];
    printf("    %-*s: %s - %s x %s = %s\n", lw, label, cli_fnum(before, s->before[k]), lr,
           ffactor(slope, sizeof slope, s->grad[k]), cli_fnum(after, s->after[k]));
}

static void print_step_text(bp_net *net, bp_loss loss, const bp_explain *ex,
                            const explain_step *s, const float *t, int T)
{
    const int L = bp_net_layers(net), O = bp_net_outputs(net);
    const bp_explain_layer *last = &ex->layers[L - 1];
    char lr[32], label[48], out[16];

    cli_num(lr, s->lr);
    printf("\nOne step of gradient descent, learning rate %s: every weight moves against\n"
           "its slope, w - %s x slope\n",
           lr, lr);
    for (int l = 0; l < L; l++) {
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
    node_name(out, sizeof out, L - 1, L);
    for (int o = 0; o < O; o++) {
        printf("  %s[%d] = %g (was %g)", out, o, (double)s->out[o], last->value[o]);
        if (T == O)
            printf(", target %g, error %g", (double)t[o], (double)s->out[o] - (double)t[o]);
        printf("\n");
    }
    if (T != O)
        printf("  target: class %g\n", (double)t[0]);
    printf("  loss: %s = %g (was %g)\n", bp_loss_name(loss), s->loss, ex->loss);
}

/* The step's block entries for layer l, as JSON fields. */
static void print_step_layer_json(bp_net *net, const explain_step *s, int l)
{
    int I = bp_net_layer_inputs(net, l), O = bp_net_layer(net, l).width;
    size_t w = weight_offset(net, l);
    printf("%s\n    {\"layer\": %d, \"grad_w\": [", l ? "," : "", l);
    for (int o = 0; o < O; o++) {
        fputs(o ? ", " : "", stdout);
        cli_json_farray(stdout, s->grad + w + (size_t)o * (size_t)I, I);
    }
    printf("], \"weights\": [");
    for (int o = 0; o < O; o++) {
        fputs(o ? ", " : "", stdout);
        cli_json_farray(stdout, s->after + w + (size_t)o * (size_t)I, I);
    }
    printf("],\n     \"grad_b\": ");
    if (bp_net_bias(net, l))
        cli_json_farray(stdout, s->grad + bias_offset(net, l), O);
    else
        printf("null");
    printf(", \"bias\": ");
    if (bp_net_bias(net, l))
        cli_json_farray(stdout, s->after + bias_offset(net, l), O);
    else
        printf("null");
    printf("}");
}

static void print_step_json(bp_net *net, const explain_step *s, const float *t, int T)
{
    int L = bp_net_layers(net), O = bp_net_outputs(net);
    printf(",\n \"step\": {\"lr\": ");
    cli_json_number(stdout, s->lr);
    printf(", \"layers\": [");
    for (int l = 0; l < L; l++)
        print_step_layer_json(net, s, l);
    printf("],\n  \"output\": ");
    cli_json_farray(stdout, s->out, O);
    if (T == O) {
        printf(", \"error\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            cli_json_number(stdout, (double)s->out[o] - (double)t[o]);
        }
        printf("]");
    }
    printf(", \"loss_value\": ");
    cli_json_number(stdout, s->loss);
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
} explain_case;

static void print_text(bp_net *net, const explain_case *c, const bp_explain *ex,
                       const explain_step *step)
{
    char spec[512];
    bp_net_spec(net, spec, sizeof spec);
    if (c->model)
        printf("model: %s\n", c->model);
    printf("network %s, loss %s, one sample\n\n", spec, bp_loss_name(c->loss));
    printf("Each weight's slope (dL/dw) is the product of three factors: the value of the\n"
           "node that feeds the weight, the slope of the loss with respect to the node the\n"
           "weight feeds (dL/dnode), and the slope of that node's activation at its input\n"
           "(act'). A node's own slope is the sum, over the weights that leave it, of\n"
           "weight x dL/dnode x act' of the node each one feeds.\n\n");
    print_forward(net, ex, c->scaled ? c->raw : NULL, c->t, c->T);
    printf("  loss: %s = %g\n\nBackward pass, from the output back\n", bp_loss_name(c->loss),
           ex->loss);
    for (int l = ex->n_layers - 1; l >= 0; l--)
        print_layer_backward(net, ex, l);
    if (step)
        print_step_text(net, c->loss, ex, step, c->t, c->T);
}

static void print_json(bp_net *net, const explain_case *c, const bp_explain *ex,
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
    cli_json_array(stdout, c->raw, bp_net_inputs(net));
    printf(", \"scaled\": %s, \"target\": ", c->scaled ? "true" : "false");
    cli_json_farray(stdout, c->t, c->T);
    printf(", \"loss_value\": ");
    cli_json_number(stdout, ex->loss);
    printf(", \"layers\": [");
    for (int l = 0; l < ex->n_layers; l++) {
        const bp_explain_layer *E = &ex->layers[l];
        const float *w = bp_net_weight(net, l), *b = bp_net_bias(net, l);
        int I = E->inputs, O = E->outputs;
        printf("%s\n  {\"layer\": %d, \"activation\": \"%s\", \"combined\": %s,\n   \"input\": ",
               l ? "," : "", l, bp_act_name(E->act), E->combined ? "true" : "false");
        cli_json_array(stdout, E->input, I);
        printf(", \"z\": ");
        cli_json_array(stdout, E->z, O);
        printf(", \"value\": ");
        cli_json_array(stdout, E->value, O);
        printf(",\n   \"dnode\": ");
        cli_json_array(stdout, E->dnode, O);
        printf(", \"dact\": ");
        cli_json_array(stdout, E->dact, O);
        printf(",\n   \"weights\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            cli_json_farray(stdout, w + (size_t)o * (size_t)I, I);
        }
        printf("], \"grad_w\": [");
        for (int o = 0; o < O; o++) {
            fputs(o ? ", " : "", stdout);
            cli_json_array(stdout, E->grad_w + (size_t)o * (size_t)I, I);
        }
        printf("],\n   \"bias\": ");
        if (b)
            cli_json_farray(stdout, b, O);
        else
            printf("null");
        printf(", \"grad_b\": ");
        if (E->grad_b)
            cli_json_array(stdout, E->grad_b, O);
        else
            printf("null");
        printf(", \"dinput\": ");
        cli_json_array(stdout, E->dinput, I);
        printf("}");
    }
    printf("\n]");
    if (step)
        print_step_json(net, step, c->t, c->T);
    printf("}\n");
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
    const char *input = NULL, *target = NULL, *loss_name = NULL;
    uint64_t seed = 1;
    double lr = 0.0;
    int json = 0, seed_given = 0, rc = CLI_USAGE, n_in = 0, T = 0, scaled = 0;
    cli_model m = {NULL, NULL};
    bp_net *net = NULL;
    bp_loss loss;
    double *xd = NULL;
    float *x = NULL, *t = NULL;
    bp_explain *ex = NULL;
    explain_step step = {0.0, NULL, NULL, NULL, NULL, 0.0};

    const cli_opt opts[] = {
        {"net", CLI_OPT_STRING, "SPEC", &spec, .help = "the network, e.g. 2,2:relu:nobias,1:relu:nobias"},
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "a model file, safetensors or JSON, with its weights; its input scaling, if it "
                 "has one, is applied to --input (exactly one of --net and --model is required)"},
        {"weights", CLI_OPT_STRING, "W", &weights,
         .help = "every layer's weights (--net only): layers separated by '/', rows (one per "
                 "node) by ';', values by ','; e.g. '2,1;1,2/1,1'",
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
        {"json", CLI_OPT_FLAG, NULL, &json, .help = "print every figure as JSON"},
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
    if (!(x = malloc((size_t)n_in * sizeof *x))) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        x[i] = (float)xd[i];
    if (model_path && scale_input(&m, n_in, x, &scaled) != 0)
        goto done;
    int lib_rc = bp_explain_sample(net, loss, x, t, T, &ex);
    if (lib_rc != 0) {
        rc = cli_lib_error("explain", lib_rc, net);
        goto done;
    }
    step.lr = lr;
    if (lr > 0.0 && take_step(net, loss, x, t, T, &step) != 0)
        goto done;

    explain_case what = {model_path, loss, xd, scaled, t, T};
    if (json)
        print_json(net, &what, ex, lr > 0.0 ? &step : NULL);
    else
        print_text(net, &what, ex, lr > 0.0 ? &step : NULL);
    rc = CLI_OK;
done:
    step_free(&step);
    bp_explain_free(ex);
    /* m.net is the network in both cases; m.meta is NULL for --net. */
    cli_model_free(&m);
    free(xd);
    free(x);
    free(t);
    return rc;
}
