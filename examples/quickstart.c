/*
 * quickstart.c - libbackprop in a few calls: learn XOR with a small network,
 * save it, load it back and print its predictions.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs backprop) -o quickstart
 *   ./quickstart [MODEL_PATH]
 */
#include <backprop.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "xor.safetensors";
    bp_error err;
    bp_dataset *data = bp_dataset_load("xor", 0, &err);
    bp_net *net = data ? bp_net_parse("2,8:tanh,1:sigmoid", &err) : NULL;
    if (!net) {
        fprintf(stderr, "quickstart: %s\n", err.message);
        bp_dataset_free(data);
        return 1;
    }
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    bp_net_init(net, &rng, BP_INIT_XAVIER_NORMAL, 0);

    bp_train_opts opts = bp_train_defaults();
    opts.loss = BP_LOSS_BCE;
    opts.batch = 0; /* full batch: the four points */
    opts.epochs = 500;
    opts.optim = bp_optim_defaults(BP_OPTIM_ADAM);
    opts.optim.lr = 0.05;
    bp_train_result res;
    if (bp_train(net, data, NULL, &opts, &res, &err) != 0 ||
        bp_model_save(path, net, NULL, &err) != 0) {
        fprintf(stderr, "quickstart: %s\n", err.message);
        bp_net_free(net);
        bp_dataset_free(data);
        return 1;
    }
    printf("trained %d epochs, loss %.6f\n", res.epochs_run, res.last.train_loss);

    bp_net *loaded = bp_model_load(path, NULL, &err);
    if (!loaded) {
        fprintf(stderr, "quickstart: %s\n", err.message);
        bp_net_free(net);
        bp_dataset_free(data);
        return 1;
    }
    float x[8], t[4];
    const float *y;
    bp_dataset_gather(data, NULL, 0, 4, x, t);
    bp_net_forward(loaded, 4, x, &y);
    for (int i = 0; i < 4; i++)
        printf("%g xor %g = %g (predicted %.4f)\n", x[2 * i], x[2 * i + 1], t[i], y[i]);
    bp_net_free(loaded);
    bp_net_free(net);
    bp_dataset_free(data);
    return 0;
}
