/*
 * cmd_lesson.c - `backprop lesson`: six worked examples of forward
 * propagation, losses, slopes, gradient steps and the search for good
 * weights. Every figure is measured through the library when the command
 * runs; the text only supplies the weights, inputs and targets. The
 * figures are gathered first (run_*), then printed as text or JSON.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MARKS 40

/* ---- the figures ------------------------------------------------------- */

/* Example 1: one sample through 2,2:relu:nobias,1:relu:nobias. */
typedef struct forward_case {
    float w_h0[2], w_h1[2], w_out[2];
    double hidden[2];
    float y, error;
} forward_case;

/* Example 2: the same network on four samples. */
typedef struct loss_case {
    float w_h0[2], w_h1[2], w_out[2];
    float y[4];
    double squared[4];
    double mse;
} loss_case;

/* Examples 3 and 4: a linear model, its slope and one step. */
typedef struct step_case {
    int n;
    float w[3], x[3], t;
    double lr;
    float y;
    double loss;
    float grad[3];
    float w_after[3];
    float y_after;
} step_case;

/* Example 6: random search against gradient descent. */
typedef struct search_case {
    uint64_t seed;
    int points, classes, iters;
    double scale, lr;
    double start_loss, start_acc;
    int n_marks;
    int mark[MAX_MARKS];
    double rs_loss[MAX_MARKS], gd_loss[MAX_MARKS];
    long kept;
    double rs_loss_final, rs_acc, gd_loss_final, gd_acc;
} search_case;

typedef struct lesson {
    float x1[2], t1;
    forward_case fwd[3];
    float x2[8], t2[4];
    loss_case loss[2];
    step_case slope, step;
    double x0, rate;
    bp_path path;
    search_case search;
} lesson;

static const char *const NET_SPEC = "2,2:relu:nobias,1:relu:nobias";

static int fail(const char *what, int code, bp_net *net)
{
    return cli_lib_error(what, code, net);
}

static int set_weights(bp_net *net, const float h0[2], const float h1[2], const float out[2])
{
    float w[4] = {h0[0], h0[1], h1[0], h1[1]};
    int rc = bp_net_set_layer(net, 0, w, NULL);
    return rc ? rc : bp_net_set_layer(net, 1, out, NULL);
}

/* ---- measuring --------------------------------------------------------- */

static int run_forward(lesson *ls)
{
    static const float h0[3][2] = {{2, 1}, {2, 1}, {2, 1}};
    static const float h1[3][2] = {{1, 2}, {1, 2}, {1, 0}};
    static const float out[3][2] = {{1, 1}, {-1, 1}, {1, 1}};
    bp_net *net = cli_parse_net("lesson", NET_SPEC);
    int rc = CLI_RUNTIME;
    if (!net)
        return rc;
    ls->x1[0] = 0, ls->x1[1] = 3, ls->t1 = 3;
    for (int c = 0; c < 3; c++) {
        forward_case *fc = &ls->fwd[c];
        bp_explain *ex = NULL;
        const float *y;
        int lib;
        memcpy(fc->w_h0, h0[c], sizeof fc->w_h0);
        memcpy(fc->w_h1, h1[c], sizeof fc->w_h1);
        memcpy(fc->w_out, out[c], sizeof fc->w_out);
        if ((lib = set_weights(net, fc->w_h0, fc->w_h1, fc->w_out)) != 0 ||
            (lib = bp_net_forward(net, 1, ls->x1, &y)) != 0) {
            rc = fail("example 1", lib, net);
            goto done;
        }
        fc->y = y[0];
        fc->error = fc->y - ls->t1;
        /* the hidden values, from the explain pass */
        if ((lib = bp_explain_sample(net, BP_LOSS_MSE, ls->x1, &ls->t1, 1, &ex)) != 0) {
            rc = fail("example 1", lib, net);
            goto done;
        }
        fc->hidden[0] = ex->layers[0].value[0];
        fc->hidden[1] = ex->layers[0].value[1];
        bp_explain_free(ex);
    }
    rc = 0;
done:
    bp_net_free(net);
    return rc;
}

static int run_loss(lesson *ls)
{
    static const float x[8] = {0, 3, 1, 2, -1, -2, 4, 0}, t[4] = {1, 3, 5, 7};
    static const float h0[2] = {2, 1};
    static const float h1[2][2] = {{1, 2}, {1, 1.5f}};
    static const float out[2][2] = {{1, 1}, {1, 1.5f}};
    bp_net *net = cli_parse_net("lesson", NET_SPEC);
    int rc = CLI_RUNTIME, lib = 0;
    if (!net)
        return rc;
    memcpy(ls->x2, x, sizeof x);
    memcpy(ls->t2, t, sizeof t);
    for (int c = 0; c < 2; c++) {
        loss_case *lc = &ls->loss[c];
        const float *y;
        memcpy(lc->w_h0, h0, sizeof lc->w_h0);
        memcpy(lc->w_h1, h1[c], sizeof lc->w_h1);
        memcpy(lc->w_out, out[c], sizeof lc->w_out);
        if ((lib = set_weights(net, lc->w_h0, lc->w_h1, lc->w_out)) != 0 ||
            (lib = bp_net_forward(net, 4, x, &y)) != 0)
            goto done;
        memcpy(lc->y, y, sizeof lc->y);
        for (int b = 0; b < 4; b++)
            if ((lib = bp_loss_compute(BP_LOSS_MSE, 1, 1, &lc->y[b], &t[b], 1, &lc->squared[b],
                                       NULL)) != 0)
                goto done;
        if ((lib = bp_net_evaluate(net, BP_LOSS_MSE, 4, x, t, 1, &lc->mse, NULL)) != 0)
            goto done;
    }
done:
    rc = lib ? fail("example 2", lib, net) : 0;
    bp_net_free(net);
    return rc;
}

/* A linear model n,1:identity:nobias: prediction, loss and slope, one step
 * of gradient descent, the prediction after it. */
static int run_step(step_case *s, const char *what)
{
    char spec[32];
    const float *y;
    int lib = 0;
    snprintf(spec, sizeof spec, "%d,1:identity:nobias", s->n);
    bp_net *net = cli_parse_net("lesson", spec);
    if (!net)
        return CLI_RUNTIME;
    if ((lib = bp_net_set_layer(net, 0, s->w, NULL)) != 0 ||
        (lib = bp_net_forward(net, 1, s->x, &y)) != 0)
        goto done;
    s->y = y[0];
    if ((lib = bp_net_gradient(net, BP_LOSS_MSE, 1, s->x, &s->t, 1, &s->loss)) != 0)
        goto done;
    memcpy(s->grad, bp_net_weight_grad(net, 0), (size_t)s->n * sizeof *s->grad);
    if ((lib = bp_gd_step(net, s->lr)) != 0)
        goto done;
    memcpy(s->w_after, bp_net_weight(net, 0), (size_t)s->n * sizeof *s->w_after);
    if ((lib = bp_net_forward(net, 1, s->x, &y)) != 0)
        goto done;
    s->y_after = y[0];
done:
    if (lib)
        fail(what, lib, net);
    bp_net_free(net);
    return lib ? CLI_RUNTIME : 0;
}

static double parabola(double x, void *ctx)
{
    (void)ctx;
    return (x - 3.0) * (x - 3.0);
}

static double parabola_slope(double x, void *ctx)
{
    (void)ctx;
    return 2.0 * (x - 3.0);
}

static int run_descent(lesson *ls)
{
    bp_minimize_opts o = bp_minimize_defaults();
    ls->x0 = 1.0;
    ls->rate = o.lr = 0.05;
    o.max_iter = 25;
    int lib = bp_minimize_1d(parabola, parabola_slope, NULL, ls->x0, &o, &ls->path);
    return lib ? fail("example 5", lib, NULL) : 0;
}

/* Loss marks: every power of two, and the last iteration. */
static int is_mark(int it, int last)
{
    return (it & (it - 1)) == 0 || it == last;
}

static int run_search(search_case *s)
{
    const int B = s->points * s->classes;
    float *x = malloc((size_t)B * 2 * sizeof *x), *labels = malloc((size_t)B * sizeof *labels);
    float *start = NULL;
    bp_net *net = cli_parse_net("lesson", "2,3:relu,3:softmax");
    bp_rsearch *rs = NULL;
    bp_error err = {0, ""};
    bp_rng rng;
    int lib = 0, rc = CLI_RUNTIME, m = 0;
    double value;
    if (!net)
        goto done;
    if (!x || !labels || !(start = malloc(bp_net_param_count(net) * sizeof *start))) {
        cli_error("out of memory");
        goto done;
    }
    bp_rng_seed(&rng, s->seed);
    bp_data_vertical(&rng, s->points, s->classes, x, labels);
    if ((lib = bp_net_init(net, &rng, BP_INIT_NORMAL, 0.01)) != 0 ||
        (lib = bp_net_evaluate(net, BP_LOSS_CCE, B, x, labels, 1, &s->start_loss,
                               &s->start_acc)) != 0)
        goto done;
    memcpy(start, bp_net_params(net), bp_net_param_count(net) * sizeof *start);

    /* Random search: keep a perturbation only when it lowers the loss. */
    if (!(rs = bp_rsearch_create(net, s->scale, &err))) {
        cli_error("example 6: %s", err.message);
        goto done;
    }
    for (int it = 1; it <= s->iters; it++) {
        int kept;
        if ((lib = bp_rsearch_step(rs, &rng, BP_LOSS_CCE, B, x, labels, 1, &value, &kept)) != 0)
            goto done;
        s->kept += kept;
        if (is_mark(it, s->iters) && m < MAX_MARKS) {
            s->mark[m] = it;
            s->rs_loss[m++] = value;
        }
    }
    s->n_marks = m;
    if ((lib = bp_net_evaluate(net, BP_LOSS_CCE, B, x, labels, 1, &s->rs_loss_final,
                               &s->rs_acc)) != 0)
        goto done;

    /* Gradient descent from the same start, on the same data. */
    memcpy(bp_net_params(net), start, bp_net_param_count(net) * sizeof *start);
    m = 0;
    for (int it = 1; it <= s->iters; it++) {
        if ((lib = bp_net_gradient(net, BP_LOSS_CCE, B, x, labels, 1, &value)) != 0 ||
            (lib = bp_gd_step(net, s->lr)) != 0)
            goto done;
        if (m < s->n_marks && it == s->mark[m]) {
            if ((lib = bp_net_evaluate(net, BP_LOSS_CCE, B, x, labels, 1, &value, NULL)) != 0)
                goto done;
            s->gd_loss[m++] = value;
        }
    }
    if ((lib = bp_net_evaluate(net, BP_LOSS_CCE, B, x, labels, 1, &s->gd_loss_final,
                               &s->gd_acc)) != 0)
        goto done;
    rc = 0;
done:
    if (lib)
        rc = fail("example 6", lib, net);
    bp_rsearch_free(rs);
    bp_net_free(net);
    free(start);
    free(labels);
    free(x);
    return rc;
}

/* ---- text -------------------------------------------------------------- */

static void heading(const char *title)
{
    size_t n = strlen(title);
    printf("\n%s\n", title);
    for (size_t i = 0; i < n; i++)
        putchar('-');
    putchar('\n');
}

/* "[a, b]" with %g. */
static const char *floats(char *buf, size_t size, const float *v, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%g%s", i ? ", " : "[", (double)v[i],
                         i == n - 1 ? "]" : "");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

static void print_forward(const lesson *ls)
{
    char a[64], b[64], c[64];
    const forward_case *f = ls->fwd;
    heading("1. Forward propagation");
    printf("The network %s has 2 inputs, 2 hidden ReLU\n"
           "nodes and 1 ReLU output, without biases. Each node adds up its inputs\n"
           "times its weights and applies its activation; relu(z) = max(z, 0).\n\n",
           NET_SPEC);
    printf("  input %s, target %g\n", floats(a, sizeof a, ls->x1, 2), (double)ls->t1);
    printf("  weights into hidden node 0 %s, hidden node 1 %s, output %s\n",
           floats(a, sizeof a, f[0].w_h0, 2), floats(b, sizeof b, f[0].w_h1, 2),
           floats(c, sizeof c, f[0].w_out, 2));
    printf("    hidden values  h[0] = relu(%g x %g + %g x %g) = %g, h[1] = %g\n",
           (double)f[0].w_h0[0], (double)ls->x1[0], (double)f[0].w_h0[1], (double)ls->x1[1],
           f[0].hidden[0], f[0].hidden[1]);
    printf("    prediction     %g x %g + %g x %g = %g\n", (double)f[0].w_out[0], f[0].hidden[0],
           (double)f[0].w_out[1], f[0].hidden[1], (double)f[0].y);
    printf("    error          prediction - target = %g\n\n", (double)f[0].error);
    printf("  Other weights give other errors. With output weights %s:\n",
           floats(a, sizeof a, f[1].w_out, 2));
    printf("    hidden [%g, %g], prediction %g, error %g\n", f[1].hidden[0], f[1].hidden[1],
           (double)f[1].y, (double)f[1].error);
    printf("  With hidden node 1's weights %s and output weights %s:\n",
           floats(a, sizeof a, f[2].w_h1, 2), floats(b, sizeof b, f[2].w_out, 2));
    printf("    hidden [%g, %g], prediction %g, error %g\n", f[2].hidden[0], f[2].hidden[1],
           (double)f[2].y, (double)f[2].error);
    printf("Training is the search for weights that make the error small.\n");
}

static void print_loss_table(const lesson *ls, const loss_case *lc)
{
    char a[64];
    printf("    %-10s  %6s  %10s  %7s  %9s\n", "input", "target", "prediction", "error",
           "squared");
    for (int s = 0; s < 4; s++)
        printf("    %-10s  %6g  %10g  %7g  %9g\n", floats(a, sizeof a, ls->x2 + 2 * s, 2),
               (double)ls->t2[s], (double)lc->y[s], (double)(lc->y[s] - ls->t2[s]),
               lc->squared[s]);
    printf("    %-39s  %9s\n", "mean squared error (MSE)", cli_num(a, lc->mse));
}

static void print_loss(const lesson *ls)
{
    char a[64], b[64], c[32], d[32];
    heading("2. A loss: many errors, one number");
    printf("A loss turns the errors on many samples into one number to make small.\n"
           "The mean squared error averages the squared errors.\n\n");
    printf("  The first weights on four samples:\n");
    print_loss_table(ls, &ls->loss[0]);
    printf("\n  With hidden node 1's weights %s and output weights %s:\n",
           floats(a, sizeof a, ls->loss[1].w_h1, 2), floats(b, sizeof b, ls->loss[1].w_out, 2));
    print_loss_table(ls, &ls->loss[1]);
    printf("The loss went from %s to %s: the second weights are %s.\n",
           cli_num(c, ls->loss[0].mse), cli_num(d, ls->loss[1].mse),
           ls->loss[1].mse > ls->loss[0].mse ? "worse" : "better");
}

static void print_step_case(const step_case *s)
{
    char a[64], b[64];
    printf("  weights %s, input %s, target %g, learning rate %g\n",
           floats(a, sizeof a, s->w, s->n), floats(b, sizeof b, s->x, s->n), (double)s->t, s->lr);
    printf("    prediction            %g\n", (double)s->y);
    printf("    error                 %g (squared: %g)\n", (double)(s->y - s->t), s->loss);
    printf("    slope for each weight %s\n", floats(a, sizeof a, s->grad, s->n));
    printf("    weights after a step  %s\n", floats(a, sizeof a, s->w_after, s->n));
    printf("    prediction after      %g\n", (double)s->y_after);
    printf("    error after           %g\n", (double)(s->y_after - s->t));
}

static void print_slopes(const lesson *ls)
{
    heading("3. The slope of the loss for each weight");
    printf("A linear model (%d,1:identity:nobias) predicts y = w . x. The slope of the\n"
           "squared error (y - t)^2 for weight i is 2 x error x input i: the larger an\n"
           "input, the more its weight is to blame. A step of gradient descent moves\n"
           "every weight against its slope: w <- w - rate x slope.\n\n",
           ls->slope.n);
    print_step_case(&ls->slope);
    double before = (double)(ls->slope.y - ls->slope.t);
    double after = (double)(ls->slope.y_after - ls->slope.t);
    printf("The error %s from %g to %g in one step.\n",
           fabs(after) < fabs(before) ? "fell" : "rose", before, after);

    heading("4. One step, figure by figure");
    printf("The same rule on a model with two weights.\n\n");
    print_step_case(&ls->step);
    before = (double)(ls->step.y - ls->step.t);
    after = (double)(ls->step.y_after - ls->step.t);
    printf("The error keeps its sign (the prediction is still %s the target) and\n"
           "is %g times what it was.\n",
           after > 0 ? "above" : "below", after / before);
}

static void print_descent(const lesson *ls)
{
    const bp_path *p = &ls->path;
    char a[32], b[32];
    int last = p->n - 1;
    heading("5. Gradient descent on a curve");
    printf("y = (x - 3)^2 has its minimum at x = 3, where its slope dy/dx = 2 (x - 3)\n"
           "is zero. Each step moves x against the slope: x <- x - rate x dy/dx.\n"
           "Start at x = %s with rate %s, for %d steps:\n\n",
           cli_num(a, ls->x0), cli_num(b, ls->rate), last);
    printf("    %4s  %-12s  %s\n", "step", "x", "y");
    for (int k = 0; k <= last; k++)
        printf("    %4d  %-12.10g  %.10g\n", k, p->x[k], p->f[k]);
    if (last >= 1) {
        printf("\n  x after step %d: %s\n", last - 1, cli_num(a, p->x[last - 1]));
        printf("  x after step %d: %s\n", last, cli_num(a, p->x[last]));
        printf("Each step multiplies the distance to 3 by the same factor:\n"
               "(3 - x%d) / (3 - x%d) = %.6g.\n",
               last, last - 1, (3.0 - p->x[last]) / (3.0 - p->x[last - 1]));
    }
}

static void print_search(const search_case *s)
{
    heading("6. Random search against gradient descent");
    printf("Data: the \"vertical\" set, %d classes of %d points (seed %llu). Network\n"
           "2,3:relu,3:softmax with cross-entropy loss; weights start at N(0, 0.01^2).\n"
           "Random search adds %g x N(0, 1) to every weight and keeps the change only\n"
           "when the loss falls. Gradient descent starts from the same weights and\n"
           "steps against the slopes with rate %g. Both take %d steps.\n\n",
           s->classes, s->points, (unsigned long long)s->seed, s->scale, s->lr, s->iters);
    printf("    %9s  %13s  %16s\n", "iteration", "random search", "gradient descent");
    printf("    %9d  %13.6f  %16.6f\n", 0, s->start_loss, s->start_loss);
    for (int m = 0; m < s->n_marks; m++)
        printf("    %9d  %13.6f  %16.6f\n", s->mark[m], s->rs_loss[m], s->gd_loss[m]);
    printf("\n  random search:    loss %.6f, accuracy %.1f%% (%ld of %d changes kept)\n",
           s->rs_loss_final, 100.0 * s->rs_acc, s->kept, s->iters);
    printf("  gradient descent: loss %.6f, accuracy %.1f%%\n", s->gd_loss_final,
           100.0 * s->gd_acc);
    printf("%s reached the lower loss.\n",
           s->gd_loss_final < s->rs_loss_final ? "Gradient descent" : "Random search");
    double lowest = s->gd_loss_final;
    int at = s->iters;
    for (int m = 0; m < s->n_marks; m++)
        if (s->gd_loss[m] < lowest)
            lowest = s->gd_loss[m], at = s->mark[m];
    if (lowest < s->gd_loss_final)
        printf("At rate %g the descent is not monotone: its loss was %.6f at iteration %d\n"
               "and %.6f at the end. A smaller --lr descends more smoothly, and more slowly.\n",
               s->lr, lowest, at, s->gd_loss_final);
}

/* ---- JSON -------------------------------------------------------------- */

static void json_step(const char *name, const step_case *s)
{
    printf(",\n \"%s\": {\"weights\": ", name);
    cli_json_farray(stdout, s->w, s->n);
    printf(", \"input\": ");
    cli_json_farray(stdout, s->x, s->n);
    printf(", \"target\": ");
    cli_json_float(stdout, s->t);
    printf(", \"lr\": ");
    cli_json_number(stdout, s->lr);
    printf(", \"prediction\": ");
    cli_json_float(stdout, s->y);
    printf(", \"error\": ");
    cli_json_float(stdout, s->y - s->t);
    printf(", \"loss\": ");
    cli_json_number(stdout, s->loss);
    printf(", \"gradient\": ");
    cli_json_farray(stdout, s->grad, s->n);
    printf(", \"weights_after\": ");
    cli_json_farray(stdout, s->w_after, s->n);
    printf(", \"prediction_after\": ");
    cli_json_float(stdout, s->y_after);
    printf(", \"error_after\": ");
    cli_json_float(stdout, s->y_after - s->t);
    printf("}");
}

static void print_json(const lesson *ls)
{
    const search_case *s = &ls->search;
    printf("{\"forward\": {\"net\": \"%s\", \"input\": ", NET_SPEC);
    cli_json_farray(stdout, ls->x1, 2);
    printf(", \"target\": ");
    cli_json_float(stdout, ls->t1);
    printf(", \"cases\": [");
    for (int c = 0; c < 3; c++) {
        const forward_case *f = &ls->fwd[c];
        printf("%s\n  {\"weights\": [[", c ? "," : "");
        cli_json_farray(stdout, f->w_h0, 2);
        printf(", ");
        cli_json_farray(stdout, f->w_h1, 2);
        printf("], [");
        cli_json_farray(stdout, f->w_out, 2);
        printf("]], \"hidden\": ");
        cli_json_array(stdout, f->hidden, 2);
        printf(", \"prediction\": ");
        cli_json_float(stdout, f->y);
        printf(", \"error\": ");
        cli_json_float(stdout, f->error);
        printf("}");
    }
    printf("]},\n \"loss\": {\"inputs\": [");
    for (int b = 0; b < 4; b++) {
        fputs(b ? ", " : "", stdout);
        cli_json_farray(stdout, ls->x2 + 2 * b, 2);
    }
    printf("], \"targets\": ");
    cli_json_farray(stdout, ls->t2, 4);
    printf(", \"cases\": [");
    for (int c = 0; c < 2; c++) {
        printf("%s\n  {\"weights\": [[", c ? "," : "");
        cli_json_farray(stdout, ls->loss[c].w_h0, 2);
        printf(", ");
        cli_json_farray(stdout, ls->loss[c].w_h1, 2);
        printf("], [");
        cli_json_farray(stdout, ls->loss[c].w_out, 2);
        printf("]], \"predictions\": ");
        cli_json_farray(stdout, ls->loss[c].y, 4);
        printf(", \"squared_errors\": ");
        cli_json_array(stdout, ls->loss[c].squared, 4);
        printf(", \"mse\": ");
        cli_json_number(stdout, ls->loss[c].mse);
        printf("}");
    }
    printf("]}");
    json_step("slope", &ls->slope);
    json_step("step", &ls->step);
    printf(",\n \"descent\": {\"x0\": ");
    cli_json_number(stdout, ls->x0);
    printf(", \"rate\": ");
    cli_json_number(stdout, ls->rate);
    printf(", \"x\": ");
    cli_json_array(stdout, ls->path.x, ls->path.n);
    printf(", \"y\": ");
    cli_json_array(stdout, ls->path.f, ls->path.n);
    printf("},\n \"search\": {\"seed\": %llu, \"points\": %d, \"classes\": %d, "
           "\"iterations\": %d, \"scale\": ",
           (unsigned long long)s->seed, s->points, s->classes, s->iters);
    cli_json_number(stdout, s->scale);
    printf(", \"lr\": ");
    cli_json_number(stdout, s->lr);
    printf(", \"start_loss\": ");
    cli_json_number(stdout, s->start_loss);
    printf(", \"marks\": [");
    for (int m = 0; m < s->n_marks; m++)
        printf("%s%d", m ? ", " : "", s->mark[m]);
    printf("], \"random_search_loss\": ");
    cli_json_array(stdout, s->rs_loss, s->n_marks);
    printf(", \"gradient_descent_loss\": ");
    cli_json_array(stdout, s->gd_loss, s->n_marks);
    printf(",\n  \"random_search\": {\"loss\": ");
    cli_json_number(stdout, s->rs_loss_final);
    printf(", \"accuracy\": ");
    cli_json_number(stdout, s->rs_acc);
    printf(", \"kept\": %ld}, \"gradient_descent\": {\"loss\": ", s->kept);
    cli_json_number(stdout, s->gd_loss_final);
    printf(", \"accuracy\": ");
    cli_json_number(stdout, s->gd_acc);
    printf("}, \"lower\": \"%s\"}}\n",
           s->gd_loss_final < s->rs_loss_final ? "gradient_descent" : "random_search");
}

/* ---- the command ------------------------------------------------------- */

static const cli_help HELP = {
    "lesson", "backprop lesson [OPTIONS]",
    "Six worked examples, every figure computed by the library as it runs:\n"
    "forward propagation, a loss, the slope of each weight, one step of\n"
    "gradient descent, descent on a curve, and random search against\n"
    "gradient descent.",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop lesson\n"
    "  backprop lesson --seed 3 --iters 2000\n"
    "  backprop lesson --json\n"};

int cmd_lesson(int argc, char **argv)
{
    static const step_case slope = {3, {0, 2, 1}, {1, 2, 3}, 0, 0.01, 0, 0, {0}, {0}, 0};
    static const step_case step = {2, {1, 2}, {3, 4}, 6, 0.01, 0, 0, {0}, {0}, 0};
    lesson *ls = calloc(1, sizeof *ls);
    long iters = 10000;
    double lr = 1.0;
    int json = 0, rc = CLI_USAGE;

    if (!ls) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    ls->search.seed = 0;
    const cli_opt opts[] = {
        {"seed", CLI_OPT_SEED, "N", &ls->search.seed, .help = "seed of example 6's data and weights",
         .def = "0"},
        {"iters", CLI_OPT_INT, "N", &iters, .min = 1, .max = 1000000,
         .help = "steps of random search and of gradient descent in example 6", .def = "10000"},
        {"lr", CLI_OPT_POSITIVE, "X", &lr, .help = "gradient descent's learning rate in example 6",
         .def = "1"},
        {"json", CLI_OPT_FLAG, NULL, &json, .help = "print the measured figures as one JSON object"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto done;
    }

    ls->slope = slope;
    ls->step = step;
    ls->search.points = 100;
    ls->search.classes = 3;
    ls->search.iters = (int)iters;
    ls->search.scale = 0.05;
    ls->search.lr = lr;
    if ((rc = run_forward(ls)) != 0 || (rc = run_loss(ls)) != 0 ||
        (rc = run_step(&ls->slope, "example 3")) != 0 ||
        (rc = run_step(&ls->step, "example 4")) != 0 || (rc = run_descent(ls)) != 0 ||
        (rc = run_search(&ls->search)) != 0)
        goto done;

    if (json) {
        print_json(ls);
    } else {
        printf("backprop lesson: six worked examples; every figure below is computed by\n"
               "the library as this command runs.\n");
        print_forward(ls);
        print_loss(ls);
        print_slopes(ls);
        print_descent(ls);
        print_search(&ls->search);
    }
    rc = CLI_OK;
done:
    bp_path_free(&ls->path);
    free(ls);
    return rc;
}
