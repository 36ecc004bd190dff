/*
 * fuzz_checkpoint.c - the checkpoint reader (bp_train_state_load). A state
 * that loads is saved again and loaded back: the position must survive.
 */
#include "fuzz.h"

#include "backprop.h"

#include <stdio.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(0, ".ckpt", data, size);
    bp_train_state *s, *again;
    bp_error err;

    if (!path)
        return 0;
    s = bp_train_state_load(path, &err);
    if (!s) {
        if (err.message[0] == '\0')
            fuzz_fail("an error without a message");
    } else {
        const char *copy = fuzz_scratch(1, ".ckpt", "", 0);
        if (copy && bp_train_state_save(copy, s, &err) == 0) {
            again = bp_train_state_load(copy, &err);
            if (!again)
                fuzz_fail("a saved checkpoint does not load");
            if (bp_train_state_epoch(again) != bp_train_state_epoch(s) ||
                bp_train_state_batch(again) != bp_train_state_batch(s) ||
                bp_train_state_steps(again) != bp_train_state_steps(s))
                fuzz_fail("a checkpoint's position changed on a round trip");
            bp_train_state_free(again);
        }
        if (copy)
            remove(copy);
        bp_train_state_free(s);
    }
    remove(path);
    return 0;
}
