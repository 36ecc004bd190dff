/*
 * main.c - the backprop command-line tool: global options and the table of
 * subcommands. Each subcommand lives in its own cmd_*.c file and receives
 * its own name as argv[0].
 */
#include "cli.h"
#include "dist.h"

#include <string.h>

typedef struct command {
    const char *name;
    cli_command_fn run;
    const char *summary;
} command;

static const command commands[] = {
    {"lesson", cmd_lesson, "walk through the worked examples, computed live"},
    {"explain", cmd_explain, "forward pass and every slope of one sample, factor by factor"},
    {"gradcheck", cmd_gradcheck, "check backpropagation against finite differences"},
    {"minimize", cmd_minimize, "gradient descent on a function given as an expression"},
    {"train", cmd_train, "train a network on a data set and save the model"},
    {"eval", cmd_eval, "loss and accuracy of a saved model on a data set"},
    {"predict", cmd_predict, "a saved model's outputs for every sample, as CSV"},
    {"report", cmd_report, "the training report of a run, as one HTML page"},
    {"lr-find", cmd_lrfind, "the learning-rate range test, with a suggested rate"},
    {"regions", cmd_regions, "2-D decision regions of random search, gd and adam"},
    {"export", cmd_export, "a saved model as ONNX or as one dependency-free C file"},
    {"info", cmd_info, "describe a network spec, or the library build"},
};

#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backprop [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "Dense neural networks trained by forward propagation, a loss,\n"
            "backpropagation and gradient descent.\n"
            "\n"
            "Commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s  %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "  %-10s  %s\n"
            "\n"
            "Options:\n"
            "  -h, --help     show this help and exit\n"
            "  -V, --version  print the version and exit\n"
            "\n"
            "Run 'backprop COMMAND --help' for the options of a command.\n",
            "help", "show the help of a command");
}

static const command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* An unknown command, with the nearest one when a typo is likely. */
static int unknown_command(const char *name)
{
    const char *names[N_COMMANDS + 1];
    for (int i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    names[N_COMMANDS] = "help";
    const char *near = cli_nearest(name, names, N_COMMANDS + 1);
    if (near)
        cli_error("unknown command '%s'; did you mean '%s'? (see backprop --help)", name, near);
    else
        cli_error("unknown command '%s' (see backprop --help)", name);
    return CLI_USAGE;
}

/* Whether --json is among the arguments (before a "--"). */
static int wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

static int run(int argc, char **argv)
{
    const command *cmd;

    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("backprop %s\n", bp_version());
        return CLI_OK;
    }
    if (first[0] == '-') {
        cli_error("unknown option '%s' (see backprop --help)", first);
        return CLI_USAGE;
    }
    if (strcmp(first, "help") == 0) {
        if (argc == 2) {
            usage(stdout);
            return CLI_OK;
        }
        if (!(cmd = find_command(argv[2])))
            return unknown_command(argv[2]);
        char *help_argv[] = {argv[2], "--help", NULL};
        return cmd->run(2, help_argv);
    }
    if (!(cmd = find_command(first)))
        return unknown_command(first);
    /* train is the one command that runs across MPI ranks */
    if (cmd->run == cmd_train) {
        int rc = cli_dist_init(&argc, &argv);
        if (rc == CLI_OK)
            rc = cmd->run(argc - 1, argv + 1);
        cli_dist_finalize();
        return rc;
    }
    return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    cli_json_errors(wants_json(argc, argv));
    int rc = run(argc, argv);
    cli_json_errors_flush(rc);
    return rc;
}
