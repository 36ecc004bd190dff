/*
 * fann_mlp.c - the benchmark's FANN peer: the Fashion-MNIST network
 * 784-256-128-10 in libfann 2.2 (float build), on the first ROWS training
 * images scaled to [0, 1] and one-hot targets, timed over one epoch in each
 * of FANN's training modes; prints one JSON line with the fastest.
 *
 * FANN 2.2 has no ReLU and no softmax: the hidden layers use its bounded
 * linear unit FANN_LINEAR_PIECE (x clipped to [0, 1], the closest it has),
 * the outputs a sigmoid, and its loss is the squared error.
 *
 * Usage: fann_mlp [ROWS]   (default 6000; the data come from $BACKPROP_DATA
 * or Debian's dataset-fashion-mnist)
 */
#define _POSIX_C_SOURCE 200809L
#include <floatfann.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The whole of a gzipped file, or NULL. */
static unsigned char *read_gz(const char *path, size_t *size)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    if (!f || !buf) {
        fprintf(stderr, "fann_mlp: cannot read %s\n", path);
        exit(1);
    }
    for (;;) {
        if (n == cap && !(buf = realloc(buf, cap *= 2)))
            exit(1);
        int got = gzread(f, buf + n, (unsigned)(cap - n));
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    gzclose(f);
    *size = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *root = getenv("BACKPROP_DATA") ? getenv("BACKPROP_DATA")
                                               : "/usr/share/datasets/fashion-mnist";
    unsigned rows = argc > 1 ? (unsigned)atoi(argv[1]) : 6000;
    char path[4096];
    size_t ni, nl;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", root);
    unsigned char *img = read_gz(path, &ni);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", root);
    unsigned char *lab = read_gz(path, &nl);
    if (ni < 16 + (size_t)rows * 784 || nl < 8 + rows) {
        fprintf(stderr, "fann_mlp: fewer than %u images\n", rows);
        return 1;
    }
    struct fann_train_data *data = fann_create_train(rows, 784, 10);
    for (unsigned r = 0; r < rows; r++) {
        for (int i = 0; i < 784; i++)
            data->input[r][i] = (float)img[16 + (size_t)r * 784 + (size_t)i] / 255.0f;
        for (int k = 0; k < 10; k++)
            data->output[r][k] = lab[8 + r] == k ? 1.0f : 0.0f;
    }
    static const struct {
        const char *name;
        enum fann_train_enum algo;
    } modes[] = {{"incremental", FANN_TRAIN_INCREMENTAL},
                 {"batch", FANN_TRAIN_BATCH},
                 {"rprop", FANN_TRAIN_RPROP},
                 {"quickprop", FANN_TRAIN_QUICKPROP}};
    double best = 0;
    const char *best_name = "";
    float mse = 0;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct fann *ann = fann_create_standard(4, 784, 256, 128, 10);
        fann_set_activation_function_hidden(ann, FANN_LINEAR_PIECE);
        fann_set_activation_function_output(ann, FANN_SIGMOID);
        fann_set_training_algorithm(ann, modes[m].algo);
        fann_set_learning_rate(ann, 0.05f);
        fann_set_learning_momentum(ann, 0.9f);
        fann_randomize_weights(ann, -0.05f, 0.05f);
        double t0 = now();
        float e = fann_train_epoch(ann, data);
        double rate = rows / (now() - t0);
        fprintf(stderr, "fann %s: %.0f samples/s\n", modes[m].name, rate);
        if (rate > best) {
            best = rate;
            best_name = modes[m].name;
            mse = e;
        }
        fann_destroy(ann);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"peer\": \"fann %s\", \"samples_per_s\": %.1f, \"rows\": %u, \"mse\": %g, "
           "\"peak_rss_mb\": %.1f}\n",
           best_name, best, rows, mse, (double)ru.ru_maxrss / 1024.0);
    fann_destroy_train(data);
    free(img);
    free(lab);
    return 0;
}
