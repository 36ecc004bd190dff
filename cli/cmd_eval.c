/*
 * cmd_eval.c - `backprop eval`: the loss and accuracy of a saved model over
 * every row of a data set (bp_evaluate), with the model's input scaling
 * applied to the data first.
 */
#include "cli.h"
#include "model.h"
#include "progress.h"

#include <stdlib.h>

static const char *const CMD = "eval";

static const cli_help HELP = {
    "eval", "backprop eval --model MODEL --data SPEC [OPTIONS]",
    "Measure a model's loss, and its accuracy when the data are class labels or\n"
    "the loss is a classification loss, over every row of a data set. The\n"
    "model's input scaling (saved by backprop train) is applied to the data.",
    NULL, "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.",
    "  backprop eval --model model.safetensors --data fashion-mnist:test\n"
    "  backprop eval --model examples/lesson.json --data examples/lesson-data.csv\n"
    "  backprop eval --model spiral.safetensors --data spiral:100:3 --seed 2 --json\n"};

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data_spec = NULL, *loss_name = NULL;
    uint64_t seed = 1;
    int json = 0, rc = CLI_USAGE;
    cli_model m = {NULL, NULL};
    bp_dataset *ds = NULL;
    bp_loss loss;
    bp_error err;
    double value, accuracy;

    const cli_opt opts[] = {
        {"model", CLI_OPT_STRING, "MODEL", &model_path,
         .help = "the model file, safetensors or JSON (required)"},
        {"data", CLI_OPT_STRING, "SPEC", &data_spec,
         .help = "the data (required): " CLI_DATA_SPECS},
        {"loss", CLI_OPT_LOSS, "NAME", &loss_name, .help = "mse, mae, bce or cce",
          .def = "the loss saved with the model, else cce after softmax, bce after sigmoid, "
                "else mse"},
        {"seed", CLI_OPT_SEED, "N", &seed, .help = "seed of synthetic data sets",
         .def = "1, the draw backprop train trains on with its default seed"},
        {"json", CLI_OPT_FLAG, NULL, &json,
         .help = "print {\"loss\": ..., \"accuracy\": ..., \"n\": ...}", .def = "off"},
        {0}};
    if ((rc = cli_parse(&HELP, opts, argc, argv, NULL)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!model_path)
        return cli_usage(CMD, "--model is required");
    if (!data_spec)
        return cli_usage(CMD, "--data is required");

    if ((rc = cli_model_load(model_path, &m)) != 0 ||
        (rc = cli_model_loss(&m, loss_name, &loss)) != 0)
        goto done;
    rc = CLI_RUNTIME;
    if (!(ds = cli_data_load(data_spec, seed)) || cli_model_scale(&m, ds) != 0)
        goto done;
    if (bp_evaluate(m.net, ds, loss, &value, &accuracy, &err) != 0) {
        cli_error("%s", err.message);
        goto done;
    }
    size_t n = bp_dataset_rows(ds);
    if (json) {
        printf("{\"loss\": ");
        cli_json_number(stdout, value);
        if (accuracy >= 0.0) {
            printf(", \"accuracy\": ");
            cli_json_number(stdout, accuracy);
        }
        printf(", \"n\": %zu}\n", n);
    } else {
        printf("loss %.8g", value); /* 8 digits: exact for the lessons' 49.890625 */
        if (accuracy >= 0.0)
            printf("  accuracy %.2f%%", 100.0 * accuracy);
        printf("  n %zu\n", n);
    }
    rc = CLI_OK;
done:
    bp_dataset_free(ds);
    cli_model_free(&m);
    return rc;
}
