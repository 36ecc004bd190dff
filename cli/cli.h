/*
 * cli.h - what the backprop subcommands share: exit codes, error messages,
 * option-value parsing that names the option and the bad value, the weights
 * string form, number formatting and a small JSON writer.
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

/* Report what getopt_long rejected (unknown option or missing value) for
 * subcommand cmd, given getopt's return value. Returns CLI_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);

/* Report operands left after the options, if any. Returns 0 or CLI_USAGE. */
int cli_no_operands(const char *cmd, int argc, char **argv);

/* How cli_options reads an option's value into cli_opt.out. */
typedef enum cli_opt_kind {
    CLI_OPT_STRING,   /* const char *: the value as given */
    CLI_OPT_FLAG,     /* int: set to 1 (no value) */
    CLI_OPT_INT,      /* long: an integer in [min, max] (cli_parse_int) */
    CLI_OPT_POSITIVE, /* double: a finite number > 0 (cli_parse_positive) */
    CLI_OPT_SEED,     /* uint64_t: a seed (cli_parse_seed) */
    CLI_OPT_LOSS      /* const char *: a loss name, checked (cli_parse_loss) */
} cli_opt_kind;

/* One option of a subcommand: getopt_long's value for it, how its value is
 * read, its name for messages ("--seed") and where the value goes. */
typedef struct cli_opt {
    int key;
    cli_opt_kind kind;
    const char *opt;
    void *out;
    long min, max; /* CLI_OPT_INT's range */
} cli_opt;

/* A subcommand's own handling of option c with value arg (NULL when it
 * takes none); returns 0 or an exit code. */
typedef int (*cli_opt_fn)(int c, const char *arg, void *ctx);

struct option;

/* A subcommand's option loop: getopt_long over argv with longopts and -h.
 * Options in opts (ended by key 0; opts may be NULL) are read as their kind
 * says; -h prints help and returns -1; others go to other(c, optarg, ctx)
 * and a nonzero return stops the loop with it. Unknown options, missing
 * values and operands are reported (cli_bad_option, cli_no_operands).
 * Returns 0, -1 (help shown) or an exit code. */
int cli_options(const char *cmd, int argc, char **argv, const struct option *longopts,
                const cli_opt *opts, void (*help)(void), cli_opt_fn other, void *ctx);

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

/* Weights for every layer of net: layers separated by '/', rows by ';',
 * values by ','; e.g. "2,1;1,2/1,1". Shape errors name the layer and row. */
int cli_parse_weights(const char *opt, const char *s, bp_net *net);
/* Biases for the layers that have one, in order: layers by '/', values by
 * ','. */
int cli_parse_biases(const char *opt, const char *s, bp_net *net);

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
