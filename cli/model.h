/*
 * model.h - what the subcommands that read models and data share: loading a
 * model file with its metadata, loading a data set, applying a model's
 * input scaling to data, and the loss a model was trained with.
 */
#ifndef BACKPROP_CLI_MODEL_H
#define BACKPROP_CLI_MODEL_H

#include "backprop.h"

/* A loaded model: the network and its metadata (never NULL once loaded). */
typedef struct cli_model {
    bp_net *net;
    bp_meta *meta;
} cli_model;

/* Load path; on failure prints "backprop: <library message>" and returns
 * CLI_RUNTIME (the file is bad) or CLI_USAGE (no path given). */
int cli_model_load(const char *path, cli_model *m);
/* The same with a network spec (--net; NULL: none), as bp_model_load_spec
 * takes it: a PyTorch state dict without metadata loads with one. */
int cli_model_load_spec(const char *path, const char *spec, cli_model *m);
void cli_model_free(cli_model *m);

/* The loss recorded in the model's metadata, else the default for its last
 * layer (see cli_parse_loss); an explicit name wins over both. Prints and
 * returns CLI_USAGE on an unknown name. */
int cli_model_loss(const cli_model *m, const char *name, bp_loss *out);

/* The network a command checks or explains: a model file's (path), or a
 * spec's with its weights still to set (spec; with a path, the spec it is
 * loaded with, see cli_model_load_spec), into m->net; *loss from
 * name, else the model's, else the default for the last layer. Returns 0,
 * or the exit code of what went wrong (printed). */
int cli_model_or_net(const char *path, const char *spec, const char *name, cli_model *m,
                     bp_loss *loss);

/* Load a data set from a spec; prints the library's message and returns
 * NULL on failure. */
bp_dataset *cli_data_load(const char *spec, uint64_t seed);

/* Give ds the model's input scaling when its metadata has one. Returns 0 or
 * CLI_RUNTIME (printed): a malformed entry, or data that do not fit the
 * network's input (bp_net_check_inputs: another width or image shape). */
int cli_model_scale(const cli_model *m, bp_dataset *ds);

/* For a model without a saved schema: a data schema of its inputs as the
 * first columns, by position, and a last column for a label, so that a
 * file of the inputs only, or of the inputs and a label (ignored), is read
 * (see bp_dataset_load_schema). Malloc'd; NULL (printed) when out of memory. */
char *cli_model_positional_schema(const cli_model *m);

/* The --net entry of an option table for the commands that read a model:
 * the spec of a file that has none (a PyTorch state dict). */
#define CLI_MODEL_NET_OPTION(spec)                                                             \
    {"net", CLI_OPT_STRING, "SPEC", (spec),                                                    \
     .help = "the model's network, for a file without one (a PyTorch nn.Sequential state "     \
             "dict)",                                                                          \
     .def = "the spec saved in the model"}

#endif
