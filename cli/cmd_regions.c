/*
 * cmd_regions.c - `backprop regions`: the 2-D decision regions of the same
 * network trained from the same starting weights by random search, by
 * gradient descent and by Adam, side by side, one row per data set (the
 * spiral and the vertical sets by default), as one SVG picture.
 *
 * Each panel paints a grid over the data's range with the class the
 * trained network predicts at each cell's centre, and draws the training
 * points on top; its title gives the accuracy measured on those points.
 * The network is 2,H:relu,C:softmax, or any --net of 2 inputs ending in
 * C:softmax; an image network has no plane to paint and is refused.
 */
#include "cli.h"
#include "paths.h"
#include "progress.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "regions";

#define MAX_DATA 4 /* as HELP says */
#define PANEL 260 /* pixels per panel side */

static const cli_help HELP = {
    "regions", "backprop regions [OPTIONS]",
    "Train one network on 2-D data three times from the same starting weights,\n"
    "full batch: by random search, by gradient descent and by Adam; draw the\n"
    "decision regions of each, side by side, with the training points and the\n"
    "accuracy on them, one row per data set.",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop regions --out regions.svg\n"
    "  backprop regions --data spiral:100:3 --data xor --hidden 50 --epochs 300 --out two.svg\n"
    "  backprop regions --data spiral:100:3 --net 2,32:tanh,32:tanh,3:softmax --out deep.svg\n"};

typedef struct regions {
    const char *data[MAX_DATA];
    int n_data;
    long hidden, epochs, grid;
    const char *net;       /* --net SPEC; NULL: 2,hidden:relu,C:softmax */
    int hidden_set;
    double gd_lr, adam_lr, scale;
    uint64_t seed;
    const char *out;
    char free_out[32];     /* the free name used without --out */
    int json;
} regions;

static const bp_optim_kind kinds[3] = {BP_OPTIM_RANDOM, BP_OPTIM_GD, BP_OPTIM_ADAM};
static const char *const kind_names[3] = {"random search", "gradient descent", "adam"};

/* --data, which may be given up to MAX_DATA times. */
static int add_data(const char *arg, void *ctx)
{
    regions *s = ctx;
    if (s->n_data == MAX_DATA)
        return cli_usage(CMD, "--data: at most %d data sets", MAX_DATA);
    s->data[s->n_data++] = arg;
    return CLI_OK;
}

/* --net: a network of 2 inputs, whatever its kinds of layers. */
static int check_net(const char *spec)
{
    char in[64];
    bp_net *net = cli_parse_net("--net", spec);
    if (!net)
        return CLI_USAGE;
    bp_shape s = bp_net_input_shape(net);
    int I = bp_net_inputs(net);
    bp_net_free(net);
    if (I == 2)
        return CLI_OK;
    cli_shape(in, sizeof in, s);
    if (s.h > 0)
        return cli_usage(CMD, "--net: the network takes %s images (%d inputs); regions paints "
                         "the classes over a plane of 2 inputs, which an image network does "
                         "not have", in, I);
    return cli_usage(CMD, "--net: the network takes %d inputs; regions paints the classes over "
                     "a plane of 2 inputs", I);
}

static int parse(int argc, char **argv, regions *s)
{
    const cli_opt opts[] = {
        {"data", CLI_OPT_STRING, "SPEC", NULL, .fn = add_data,
         .help = "a 2-input data set with class labels; give it up to 4 times",
         .def = "spiral:100:3 and vertical:100:3"},
        {"hidden", CLI_OPT_INT, "N", &s->hidden, .min = 1, .max = 100000, .given = &s->hidden_set,
         .help = "hidden relu units of the network 2,N:relu,C:softmax", .def = "100"},
        {"net", CLI_OPT_STRING, "SPEC", &s->net,
         .help = "the network instead: any spec of 2 inputs (2, or a shape of 2 values such "
                 "as 1x1x2) ending in C:softmax for the data's C classes; an image network "
                 "is refused, having no plane to paint",
         .def = "2,N:relu,C:softmax with N from --hidden"},
        {"epochs", CLI_OPT_INT, "N", &s->epochs, .min = 1, .max = 10000000,
         .help = "steps (full batch) of each optimizer", .def = "1000"},
        {"gd-lr", CLI_OPT_POSITIVE, "F", &s->gd_lr, .help = "gradient descent's rate", .def = "1"},
        {"adam-lr", CLI_OPT_POSITIVE, "F", &s->adam_lr, .help = "Adam's rate", .def = "0.01"},
        {"scale", CLI_OPT_POSITIVE, "F", &s->scale,
         .help = "random search's perturbation scale", .def = "0.05"},
        {"grid", CLI_OPT_INT, "N", &s->grid, .min = 2, .max = 400,
         .help = "cells along each side of a panel", .def = "80"},
        {"seed", CLI_OPT_SEED, "N", &s->seed,
         .help = "seed of the data and the starting weights", .def = "1"},
        {"out", CLI_OPT_STRING, "FILE.svg", &s->out, .help = "where to write the picture",
         .def = "regions.svg, or regions-2.svg, ... when it exists"},
        {"json", CLI_OPT_FLAG, NULL, &s->json, .help = "print the figures as JSON", .def = "off"},
        {0}};
    int rc;
    memset(s, 0, sizeof *s);
    s->hidden = 100;
    s->epochs = 1000;
    s->grid = 80;
    s->gd_lr = 1.0;
    s->adam_lr = 0.01;
    s->scale = 0.05;
    s->seed = 1;
    if ((rc = cli_parse(&HELP, opts, argc, argv, s)) != 0)
        return rc;
    if (s->net && s->hidden_set)
        return cli_usage(CMD, "--hidden and --net contradict each other: --hidden sizes the "
                         "default network");
    if (s->net && (rc = check_net(s->net)) != 0)
        return rc;
    /* unnamed, the picture never replaces a file */
    if (!s->out && cli_paths_free_name("regions", ".svg", s->free_out, sizeof s->free_out) == 0)
        s->out = s->free_out;
    if (!s->out) {
        cli_error("--out: no free name regions-N.svg in this folder; give --out");
        return CLI_RUNTIME;
    }
    if (s->n_data == 0) {
        s->data[s->n_data++] = "spiral:100:3";
        s->data[s->n_data++] = "vertical:100:3";
    }
    return CLI_OK;
}

/* One data set's points, their range and the starting network. */
typedef struct panel_data {
    bp_dataset *ds;
    int C;
    size_t n;
    float *x, *t;        /* (n, 2), (n, 1) */
    double x0, x1, y0, y1; /* the range shown */
} panel_data;

static int load(const regions *s, const char *spec, panel_data *p)
{
    bp_error err;
    int lib;
    if (!(p->ds = bp_dataset_load(spec, s->seed, &err))) {
        cli_error("--data: %s", err.message);
        return CLI_RUNTIME;
    }
    p->C = bp_dataset_classes(p->ds);
    p->n = bp_dataset_rows(p->ds);
    int c, h, w;
    bp_dataset_shape(p->ds, &c, &h, &w);
    if (h > 0 && bp_dataset_inputs(p->ds) != 2) {
        cli_error("--data %s: the data are %dx%dx%d images (%d inputs); regions paints the "
                  "classes over a plane of 2 inputs, which images do not have", spec, c, h, w,
                  bp_dataset_inputs(p->ds));
        return CLI_RUNTIME;
    }
    if (bp_dataset_inputs(p->ds) != 2 || bp_dataset_target_cols(p->ds) != 1 || p->C < 2 ||
        p->C > 10 || p->n > 100000) {
        cli_error("--data %s: expected 2 inputs and class labels (2 to 10 classes, at most "
                  "100000 rows), found %d inputs, %d target columns, %d classes, %zu rows",
                  spec, bp_dataset_inputs(p->ds), bp_dataset_target_cols(p->ds), p->C, p->n);
        return CLI_RUNTIME;
    }
    if (!(p->x = malloc(p->n * 3 * sizeof *p->x))) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    p->t = p->x + 2 * p->n;
    if ((lib = bp_dataset_gather(p->ds, NULL, 0, (int)p->n, p->x, p->t)) != 0)
        return cli_lib_error("reading the data", lib, NULL);
    double lo[2] = {p->x[0], p->x[1]}, hi[2] = {p->x[0], p->x[1]};
    for (size_t i = 0; i < p->n; i++)
        for (int d = 0; d < 2; d++) {
            double v = p->x[2 * i + (size_t)d];
            lo[d] = v < lo[d] ? v : lo[d];
            hi[d] = v > hi[d] ? v : hi[d];
        }
    /* A square view around the points, 10% larger. */
    double half = 0.55 * fmax(hi[0] - lo[0], hi[1] - lo[1]);
    half = half > 0.0 ? half : 1.0;
    p->x0 = (lo[0] + hi[0]) / 2 - half;
    p->x1 = (lo[0] + hi[0]) / 2 + half;
    p->y0 = (lo[1] + hi[1]) / 2 - half;
    p->y1 = (lo[1] + hi[1]) / 2 + half;
    return CLI_OK;
}

/* Whether net ends in C:softmax for data of C classes. */
static int fits(const bp_net *net, const char *spec, int C)
{
    int L = bp_net_layers(net);
    if (bp_net_outputs(net) == C && bp_net_layer(net, L - 1).act == BP_ACT_SOFTMAX)
        return CLI_OK;
    cli_error("--net: the network must end in %d:softmax for --data %s (%d classes); it has %d "
              "output%s%s", C, spec, C, bp_net_outputs(net), bp_net_outputs(net) == 1 ? "" : "s",
              bp_net_layer(net, L - 1).act == BP_ACT_SOFTMAX ? "" : " and no softmax");
    return CLI_RUNTIME;
}

/* Train a copy of start with one optimizer; measure its accuracy. */
static int train_one(const regions *s, const panel_data *p, bp_net *net, int k, double *loss,
                     double *acc)
{
    bp_train_opts o = bp_train_defaults();
    bp_train_result res;
    bp_error err;
    o.loss = BP_LOSS_CCE;
    o.epochs = (int)s->epochs;
    o.batch = 0;
    o.shuffle = 0;
    o.seed = s->seed;
    o.optim = bp_optim_defaults(kinds[k]);
    if (kinds[k] == BP_OPTIM_GD)
        o.optim.lr = s->gd_lr;
    else if (kinds[k] == BP_OPTIM_ADAM)
        o.optim.lr = s->adam_lr;
    else
        o.optim.scale = s->scale;
    o.schedule.kind = BP_SCHED_CONSTANT;
    if (bp_train(net, p->ds, NULL, &o, &res, &err) != 0 ||
        bp_evaluate(net, p->ds, BP_LOSS_CCE, loss, acc, &err) != 0) {
        cli_error("%s", err.message);
        return CLI_RUNTIME;
    }
    if (res.nonfinite)
        cli_error("%s: %s stopped at step %ld on a non-finite value; its last good weights "
                  "are drawn", bp_dataset_describe(p->ds), kind_names[k], res.bad_batch +
                  (long)(res.bad_epoch - 1));
    return CLI_OK;
}

/* The predicted class at each grid cell's centre, row 0 at the top. */
static int classify_grid(const regions *s, const panel_data *p, bp_net *net, int *cls)
{
    int G = (int)s->grid, lib;
    float *x = malloc((size_t)G * 2 * sizeof *x); /* (G, 2) one grid row */
    const float *y;                                /* (G, C) */
    if (!x) {
        cli_error("out of memory");
        return CLI_RUNTIME;
    }
    for (int r = 0; r < G; r++) {
        for (int c = 0; c < G; c++) {
            x[2 * c] = (float)(p->x0 + (p->x1 - p->x0) * (c + 0.5) / G);
            x[2 * c + 1] = (float)(p->y1 - (p->y1 - p->y0) * (r + 0.5) / G);
        }
        if ((lib = bp_net_forward(net, G, x, &y)) != 0) {
            free(x);
            return cli_lib_error("the grid", lib, net);
        }
        for (int c = 0; c < G; c++) {
            const float *row = y + (size_t)c * (size_t)p->C;
            int k = 0;
            for (int j = 1; j < p->C; j++)
                if (row[j] > row[k])
                    k = j;
            cls[r * G + c] = k;
        }
    }
    free(x);
    return CLI_OK;
}

static void draw_panel(FILE *f, const regions *s, const panel_data *p, const char *spec, int k,
                       const int *cls, double left, double top, double acc, double loss)
{
    svg_axes a = {.left = left, .top = top, .width = PANEL, .height = PANEL};
    char title[96], num[32];
    a.x0 = p->x0;
    a.x1 = p->x1;
    a.y0 = p->y0;
    a.y1 = p->y1;
    fputs("<g class=\"panel\" data-data=\"", f);
    svg_escape(f, spec);
    fprintf(f, "\" data-optimizer=\"%s\" data-accuracy=\"%s\"", kind_names[k],
            cli_num(num, acc));
    fprintf(f, " data-loss=\"%s\">\n", cli_num(num, loss));
    svg_class_cells(f, left, top, PANEL, PANEL, (int)s->grid, (int)s->grid, cls);
    for (size_t i = 0; i < p->n; i++)
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\" fill=\"%s\" stroke=\"#222222\" "
                   "stroke-width=\"0.5\"/>\n",
                svg_px(&a, p->x[2 * i]), svg_py(&a, p->x[2 * i + 1]), svg_color((int)p->t[i]));
    snprintf(title, sizeof title, "%s: accuracy %.1f%%", kind_names[k], 100.0 * acc);
    svg_axes_draw(f, &a, title, NULL, NULL);
    fputs("</g>\n", f);
}

int cmd_regions(int argc, char **argv)
{
    regions s;
    panel_data p[MAX_DATA];
    bp_net *start = NULL, *net = NULL;
    int *cls = NULL, rc = parse(argc, argv, &s);
    cli_outfile of = {NULL, NULL, NULL};
    double acc[MAX_DATA][3], loss[MAX_DATA][3];
    char specs[MAX_DATA][64]; /* the default network of each data set */
    memset(p, 0, sizeof p);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    {
        const cli_file outs[] = {{"--out", s.out, 0, NULL}};
        cli_file ins[MAX_DATA];
        for (int d = 0; d < s.n_data; d++)
            ins[d] = (cli_file){"--data", s.data[d], 1, NULL};
        if ((rc = cli_paths_check(CMD, outs, 1, ins, s.n_data)) != 0)
            return rc;
    }
    rc = CLI_RUNTIME;
    if (cli_check_writable("--out", s.out) != 0)
        goto done;
    for (int d = 0; d < s.n_data; d++)
        if (load(&s, s.data[d], &p[d]) != 0)
            goto done;
    if (!(cls = malloc((size_t)s.grid * (size_t)s.grid * sizeof *cls))) {
        cli_error("out of memory");
        goto done;
    }
    if (cli_outfile_open(&of, s.out) != 0)
        goto done;
    int width = 3 * (PANEL + 30) + 30, height = s.n_data * (PANEL + 60) + 20;
    svg_begin(of.f, width, height, "regions");
    for (int d = 0; d < s.n_data; d++) {
        char *spec = specs[d];
        const char *opt = s.net ? "--net" : "--hidden", *use = s.net ? s.net : spec;
        bp_rng rng;
        snprintf(spec, sizeof specs[d], "2,%ld:relu,%d:softmax", s.hidden, p[d].C);
        bp_net_free(start);
        if (!(start = cli_parse_net(opt, use)) || fits(start, s.data[d], p[d].C) != 0)
            goto done;
        bp_rng_seed(&rng, s.seed);
        bp_net_init(start, &rng, BP_INIT_HE_NORMAL, 0.0);
        svg_text(of.f, 30, d * (PANEL + 60) + 22, 13, "start", bp_dataset_describe(p[d].ds));
        for (int k = 0; k < 3; k++) {
            bp_net_free(net);
            if (!(net = cli_parse_net(opt, use)))
                goto done;
            memcpy(bp_net_params(net), bp_net_params(start),
                   bp_net_param_count(net) * sizeof(float));
            if (train_one(&s, &p[d], net, k, &loss[d][k], &acc[d][k]) != 0 ||
                classify_grid(&s, &p[d], net, cls) != 0)
                goto done;
            draw_panel(of.f, &s, &p[d], s.data[d], k, cls, 30 + k * (PANEL + 30),
                       d * (PANEL + 60) + 50, acc[d][k], loss[d][k]);
            if (!s.json)
                printf("%-16s %-17s loss %-8.4f accuracy %.2f%%\n", s.data[d], kind_names[k],
                       loss[d][k], 100.0 * acc[d][k]);
        }
    }
    svg_end(of.f);
    if (cli_outfile_commit(&of) != 0)
        goto done;
    if (s.json) {
        printf("{\"out\": ");
        cli_json_string(stdout, s.out);
        printf(", \"runs\": [");
        for (int d = 0; d < s.n_data; d++) {
            bp_net_free(net);
            if (!(net = cli_parse_net("--net", s.net ? s.net : specs[d])))
                goto done;
            for (int k = 0; k < 3; k++) {
                printf("%s\n  {\"data\": ", d || k ? "," : "");
                cli_json_string(stdout, s.data[d]);
                printf(", \"optimizer\": \"%s\", \"loss\": ", bp_optim_name(kinds[k]));
                cli_json_number(stdout, loss[d][k]);
                printf(", \"accuracy\": ");
                cli_json_number(stdout, acc[d][k]);
                printf(", ");
                cli_json_net(stdout, net);
                printf("}");
            }
        }
        printf("\n]}\n");
    } else {
        printf("regions written to %s\n", s.out);
    }
    rc = CLI_OK;
done:
    if (of.f)
        cli_outfile_abort(&of);
    bp_net_free(net);
    bp_net_free(start);
    free(cls);
    for (int d = 0; d < MAX_DATA; d++) {
        bp_dataset_free(p[d].ds);
        free(p[d].x);
    }
    return rc;
}
