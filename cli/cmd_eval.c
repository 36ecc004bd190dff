/*
 * cmd_eval.c - `backprop eval`: the loss and metrics of a saved model over
 * every row of a data set (bp_metrics_evaluate, printed by metrics.c), with
 * the model's input scaling applied to the data first.
 */
#include "cli.h"
#include "data.h"
#include "metrics.h"
#include "model.h"
#include "progress.h"

#include <stdlib.h>

static const char *const CMD = "eval";

static const cli_help HELP = {
    "eval", "backprop eval --model MODEL --data SPEC [OPTIONS]",
    "Measure a model over every row of a data set: its loss and, for a\n"
    "classification loss (cce, bce), the accuracy, each class's precision,\n"
    "recall, F1 and support, their macro averages and the confusion matrix\n"
    "(rows: true class; the table and matrix up to 20 classes, all in --json);\n"
    "for any other loss MAE, RMSE and R^2, with the loss in the target's\n"
    "original units when training standardized it. Delimited text is read by\n"
    "the preprocessing the model saved (columns matched by header name, text\n"
    "categories and class names as in training), then the model's input\n"
    "scaling is applied. A non-finite output or loss is an error (exit 1).",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop eval --model model.safetensors --data fashion-mnist:test\n"
    "  backprop eval --model examples/lesson.json --data examples/lesson-data.csv\n"
    "  backprop eval --model spiral.safetensors --data spiral:100:3 --seed 2 --json\n"};

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data_spec = NULL, *loss_name = NULL, *spec = NULL;
    uint64_t seed = 1;
    int json = 0, rc = CLI_USAGE;
    cli_model m = {NULL, NULL};
    cli_data d = {.cmd = CMD};
    bp_dataset *ds = NULL;
    bp_loss loss;

    const cli_opt opts[] = {
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "the model file, safetensors or JSON (required)"},
        CLI_MODEL_NET_OPTION(&spec),
        {"data", CLI_OPT_STRING, "SPEC", &data_spec,
         .help = "the data (required): " CLI_DATA_SPECS},
        CLI_DATA_READ_OPTIONS(&d),
        {"loss", CLI_OPT_LOSS, "NAME", &loss_name, .help = "mse, mae, bce or cce",
          .def = "the loss saved with the model, else cce after softmax, bce after sigmoid, "
                "else mse"},
        {"seed", CLI_OPT_SEED, "N", &seed, .help = "seed of synthetic data sets",
         .def = "1, the draw backprop train trains on with its default seed"},
        {"json", CLI_OPT_FLAG, NULL, &json,
         .help = "print one JSON object: loss, n, task (\"classification\" or "
                 "\"regression\"), then mae, rmse, r2, or accuracy, macro_precision, "
                 "macro_recall, macro_f1, classes (each {class, name, precision, recall, f1, "
                 "support}) and confusion (rows: true class); a regression with a "
                 "standardized target adds target_mean and target_scale, the loss, mae and "
                 "rmse being in its units; last, network: the layers with their shapes, as "
                 "info --json gives them",
         .def = "off"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!model_path)
        return cli_usage(CMD, "--model is required");
    if (!data_spec)
        return cli_usage(CMD, "--data is required");

    if ((rc = cli_model_load_spec(model_path, spec, &m)) != 0 ||
        (rc = cli_model_loss(&m, loss_name, &loss)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(ds = cli_data_load_model(&m, data_spec, 1, &d, seed)))
        goto done;
    rc = cli_metrics_run(stdout, m.net, ds, loss, json);
done:
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
