/*
 * cli.h - what the backprop subcommands share: exit codes, error messages
 * (as JSON objects under --json), option tables (options.c) and option-value
 * parsing that names the option and the bad value, the weights string form,
 * number formatting and a small JSON writer.
 *
 * Every parse function prints its own message and returns CLI_USAGE on a bad
 * value, so a subcommand can simply return what it got.
 */
#ifndef BACKPROP_CLI_H
#define BACKPROP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "backprop.h"

/* Exit codes of every subcommand. */
enum {
    CLI_OK = 0,      /* success */
    CLI_RUNTIME = 1, /* runtime error or a failed check */
    CLI_USAGE = 2,   /* bad or missing option, bad value */
    CLI_INTERRUPTED = 130 /* stopped by SIGINT (128 + the signal's number) */
};

/* A subcommand: argv[0] is the subcommand's name. */
typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_lesson(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_minimize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_lrfind(int argc, char **argv);
int cmd_regions(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* ---- messages ---------------------------------------------------------- */

/* "backprop: <message>" on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A usage error: the message, then a hint to `backprop CMD --help`.
 * Returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* How cli_parse reads an option's value into cli_opt.out. */
typedef enum cli_opt_kind {
    CLI_OPT_END = 0,  /* ends a table */
    CLI_OPT_HEADING,  /* no option: a heading of --help ("Data"), in name */
    CLI_OPT_STRING,   /* const char *: the value as given */
    CLI_OPT_FLAG,     /* int: set to 1 (no value) */
    CLI_OPT_INT,      /* long: an integer in [min, max] (cli_parse_int) */
    CLI_OPT_POSITIVE, /* double: a finite number > 0 */
    CLI_OPT_NONNEG,   /* double: a finite number >= 0 */
    CLI_OPT_FRACTION, /* double: a number in [0, 1) */
    CLI_OPT_DOUBLE,   /* double: any finite number */
    CLI_OPT_SEED,     /* uint64_t: a seed (cli_parse_seed) */
    CLI_OPT_LIST,     /* const char *: a comma-separated list of numbers, checked */
    CLI_OPT_LOSS,     /* const char *: a loss name, checked (cli_parse_loss) */
    CLI_OPT_CHOICE    /* int: the index of the value in choices */
} cli_opt_kind;

/* One entry of a subcommand's option table, from which its parsing, the
 * options part of its --help and "did you mean" all come. */
typedef struct cli_opt {
    const char *name;  /* "seed" for --seed; a heading's text */
    cli_opt_kind kind;
    const char *arg;   /* the value's name in --help ("N"); NULL for flags */
    void *out;         /* where the value goes, typed by kind; may be NULL */
    const char *help;  /* what it does, for --help (re-flowed; '\n' breaks) */
    const char *def;   /* the default, shown as "(default: DEF)"; NULL: none */
    long min, max;     /* CLI_OPT_INT's range */
    const char *const *choices; /* CLI_OPT_CHOICE's names, NULL-ended */
    int *given;        /* set to 1 when the option is given; may be NULL */
    /* Called with the value after it is stored, for checks of its own;
     * 0 or an exit code (printed). */
    int (*fn)(const char *arg, void *ctx);
} cli_opt;

/* A heading entry of an option table: --help shows "\nTEXT:" there. */
#define CLI_HEADING(text) {(text), CLI_OPT_HEADING, .help = NULL}

/* The data set specs, for --help. */
#define CLI_DATA_SPECS                                                                         \
    "fashion-mnist[:train], fashion-mnist:test, idx:IMAGES,LABELS, spiral:N:K, vertical:N:K, " \
    "xor, or PATH.csv[:label=COL]"

/* The text of a subcommand's --help around its options. */
typedef struct cli_help {
    const char *name;     /* the subcommand */
    const char *usage;    /* after "Usage: " */
    const char *about;    /* what it does */
    const char *notes;    /* after the options; may be NULL */
    const char *status;   /* "Exit status: ..."; may be NULL */
    const char *examples; /* "  backprop ...\n" lines, shown last */
} cli_help;

/* Parse argv (argv[0] the subcommand) by the table opts (ended by
 * CLI_OPT_END): --help/-h prints the help; an unknown option gets the
 * nearest name; operands are refused. ctx goes to the callbacks. Returns
 * 0, -1 (help shown) or an exit code (printed). */
int cli_parse(const cli_help *h, const cli_opt *opts, int argc, char **argv, void *ctx);
/* A subcommand's --help on stdout. */
void cli_print_help(const cli_help *h, const cli_opt *opts);
/* The name of names nearest to given (a typo's few edits away, or given
 * with words added); NULL if none is near. */
const char *cli_nearest(const char *given, const char *const *names, int n);

/* With --json anywhere among a command's arguments, errors are kept
 * instead of printed and main writes them as one JSON object on stderr,
 * {"error": "...", "exit": N}. */
void cli_json_errors(int on);
/* Print the errors kept under cli_json_errors for exit code rc. */
void cli_json_errors_flush(int rc);

/* A library failure: "backprop: what: strerror (detail)". Returns CLI_RUNTIME. */
int cli_lib_error(const char *what, int code, const bp_net *net);

/* ---- option values ----------------------------------------------------- */

/* A finite number. */
int cli_parse_double(const char *opt, const char *s, double *out);
/* A finite number > 0. */
int cli_parse_positive(const char *opt, const char *s, double *out);
/* A finite number >= 0. */
int cli_parse_nonneg(const char *opt, const char *s, double *out);
/* An integer in [min, max]. */
int cli_parse_int(const char *opt, const char *s, long min, long max, long *out);
/* A 64-bit unsigned seed. */
int cli_parse_seed(const char *opt, const char *s, uint64_t *out);

/* A comma-separated list of finite numbers: *out (malloc'd, caller frees)
 * receives *n >= 1 values. */
int cli_parse_list(const char *opt, const char *s, double **out, int *n);

/* A network spec; on failure prints the library's message and returns NULL
 * (a usage error). */
bp_net *cli_parse_net(const char *opt, const char *spec);

/* Weights for every layer of net that has them (pools have none): layers
 * separated by '/', rows (a dense output's inputs, a conv filter's C x K x K
 * values) by ';', values by ','; e.g. "2,1;1,2/1,1". Shape errors name the
 * layer and row. */
int cli_parse_weights(const char *opt, const char *s, bp_net *net);
/* Biases for the layers that have one, in order: layers by '/', values by
 * ','. */
int cli_parse_biases(const char *opt, const char *s, bp_net *net);

/* ---- layers ------------------------------------------------------------ */

/* A shape as "128" (flat) or "32x28x28" (C x H x W), into buf. Returns buf. */
const char *cli_shape(char *buf, size_t size, bp_shape s);
/* Layer l's entry of the network's canonical spec ("conv:32:3:relu:same"),
 * into buf. Returns 0, or -1 when it does not fit. */
int cli_spec_entry(const bp_net *net, int l, char *buf, size_t size);

/* A loss name, or when name is NULL the default for the network's last
 * layer: cce after softmax, bce after sigmoid, else mse. */
int cli_parse_loss(const char *opt, const char *name, const bp_net *net, bp_loss *out);

/* ---- output ------------------------------------------------------------ */

/* The shortest "%.Ng" form of v that reads back as the same double. buf
 * needs at least 32 bytes. Returns buf. */
const char *cli_num(char *buf, double v);
/* The same for a float: the shortest form that reads back as v. */
const char *cli_fnum(char *buf, float v);

/* JSON output: strings escaped, non-finite numbers written as null. */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v);
void cli_json_float(FILE *f, float v);
/* "[a, b, c]" for n doubles or floats. */
void cli_json_array(FILE *f, const double *v, int n);
void cli_json_farray(FILE *f, const float *v, int n);
/* A network as JSON members (json_net.c): "spec", "inputs", "outputs",
 * "input_shape" ([n] flat, [c, h, w] spatial), "layers" (each {layer, entry,
 * kind, inputs, outputs, shape, activation, weight_dims, bias, parameters})
 * and "parameters"; "spec" is null past 4095 characters. */
void cli_json_net_members(FILE *f, const bp_net *net);
/* The same inside "network": {...}, for the commands whose JSON is about
 * something else (train, eval, predict, lr-find, report). */
void cli_json_net(FILE *f, const bp_net *net);

/* ---- interruption and checkpoints (checkpoint.c) ----------------------- */

/* SIGINT and SIGTERM set a flag instead of killing the process, so training
 * can stop after the current batch; restore puts the default actions back. */
void cli_interrupt_catch(void);
void cli_interrupt_restore(void);
int cli_interrupted(void);

/* Save the training state to path (atomically), with meta (may be NULL) for
 * its use as a model; prints the error and returns nonzero when it cannot. */
int cli_checkpoint_write(const char *path, const bp_train_state *state, const bp_meta *meta);

#endif /* BACKPROP_CLI_H */
