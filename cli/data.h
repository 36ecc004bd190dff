/*
 * data.h - how the commands read the user's data: the options of delimited
 * text (one set of option-table entries every command shares), the
 * training data encoded as those options say, and the data a model is
 * given encoded by the rules its training saved ("schema" in its
 * metadata), never by a second copy of them.
 */
#ifndef BACKPROP_CLI_DATA_H
#define BACKPROP_CLI_DATA_H

#include "cli.h"
#include "model.h"

/* The data options of a command, as its option table fills them. */
typedef struct cli_data {
    const char *sep;        /* --sep: one character or "tab"; NULL: detected */
    int header, no_header;  /* --header, --no-header */
    const char *features;   /* --features COLS */
    const char *drop;       /* --drop COLS */
    int task;               /* --task: index in cli_data_tasks */
    int missing;            /* --missing: index in cli_data_missing */
    int standardize;        /* --standardize: every kind of data */
    int no_standardize;     /* --no-standardize */
    int quiet;              /* leave the readers' notices unprinted */
    const char *cmd;        /* the subcommand, for usage messages */
} cli_data;

extern const char *const cli_data_tasks[];   /* auto, classify, regress */
extern const char *const cli_data_missing[]; /* error, drop, mean */

/* How a file of delimited text is read: every command that reads data. */
#define CLI_DATA_READ_OPTIONS(d)                                                               \
    {"sep", CLI_OPT_STRING, "C", &(d)->sep,                                                    \
     .help = "the separator of delimited text: one character, or 'tab'",                       \
     .def = "detected among , ; tab |"},                                                       \
    {"header", CLI_OPT_FLAG, NULL, &(d)->header,                                               \
     .help = "the first line of delimited text is a header", .def = "detected"},               \
    {"no-header", CLI_OPT_FLAG, NULL, &(d)->no_header,                                         \
     .help = "the first line of delimited text is data", .def = "detected"}

/* How its columns are encoded: the commands that train. */
#define CLI_DATA_ENCODE_OPTIONS(d)                                                             \
    {"features", CLI_OPT_STRING, "COLS", &(d)->features,                                       \
     .help = "the input columns, by name or 0-based number, comma-separated",                  \
     .def = "every column but the label and --drop's"},                                        \
    {"drop", CLI_OPT_STRING, "COLS", &(d)->drop,                                               \
     .help = "columns to leave out, by name or 0-based number, comma-separated",               \
     .def = "none"},                                                                           \
    {"task", CLI_OPT_CHOICE, "NAME", &(d)->task, .choices = cli_data_tasks,                    \
     .help = "classify or regress: what the label column is for",                              \
     .def = "auto: text labels and integers with at most 20 distinct values are classes, "     \
            "other numbers a regression target"},                                              \
    {"missing", CLI_OPT_CHOICE, "MODE", &(d)->missing, .choices = cli_data_missing,            \
     .help = "missing cells (empty, NA, N/A, NaN, nan, null, NULL, None, ?): error refuses "   \
             "the file, drop leaves their rows out, mean fills an input with its training "    \
             "mean (text: its most frequent value), saved with the model",                     \
     .def = "error"},                                                                          \
    {"no-standardize", CLI_OPT_FLAG, NULL, &(d)->no_standardize,                               \
     .help = "leave the numeric inputs of delimited text unscaled (they are scaled to mean 0 "  \
             "and variance 1 over the training data otherwise; a regression target always "    \
             "is, and predictions come back in its units)",                                    \
     .def = "off"}

/* d as the library's options (notices printed unless d->quiet); prints
 * and returns CLI_USAGE for a bad --sep or contradicting flags. */
int cli_data_opts(const cli_data *d, bp_data_opts *o);

/* The training data: delimited text read and encoded as d says (numeric
 * inputs standardized unless --no-standardize), any other spec as it is,
 * standardized with --standardize. Prints and returns NULL on failure. */
bp_dataset *cli_data_load_train(const char *spec, const cli_data *d, uint64_t seed);

/* Data encoded by a schema (bp_dataset_schema of the training data; NULL:
 * read as the library's bp_dataset_load reads them): the label used when
 * present, required when needs_label. Prints and returns NULL on failure. */
bp_dataset *cli_data_load_schema(const char *spec, const char *schema, int needs_label,
                                 const cli_data *d, uint64_t seed);

/* Data for a model: encoded by the model's saved schema when it has one,
 * then given the model's input scaling (no schema and !needs_label: its
 * inputs by position, cli_model_positional_schema). Prints and returns NULL
 * on failure. */
bp_dataset *cli_data_load_model(const cli_model *m, const char *spec, int needs_label,
                                const cli_data *d, uint64_t seed);

/* The data's description (bp_dataset_describe) with its inputs in the
 * network's shape, "(300 rows, 1x28x28 inputs, 10 classes)", when the
 * network takes a CxHxW image of the data's width; as it is otherwise. Into
 * buf; returns buf. */
const char *cli_data_describe(char *buf, size_t size, const bp_dataset *ds, const bp_net *net);

#endif
