/*
 * checkpoint.c - what `backprop train` does about interruptions: SIGINT
 * and SIGTERM only raise a flag, which the batch callback turns into a
 * stop after the current batch (the model as it stands, the log so far and
 * the checkpoint, when one was asked for, are then written and the tool
 * exits 130); checkpoints are written through the library's atomic writer,
 * so a kill at any moment leaves the previous one whole.
 */
#include "cli.h"

#include <signal.h>

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void cli_interrupt_catch(void)
{
    interrupted = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

void cli_interrupt_restore(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

int cli_interrupted(void)
{
    return interrupted != 0;
}

int cli_checkpoint_write(const char *path, const bp_train_state *state, const bp_meta *meta)
{
    bp_error err;
    int rc = bp_train_state_save_meta(path, state, meta, &err);
    if (rc != 0)
        cli_error("--checkpoint: %s", err.message[0] ? err.message : bp_strerror(rc));
    return rc;
}
