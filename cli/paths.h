/*
 * paths.h - the rules that keep the user's files: an output is never the
 * same file as an input of the command, nor as another output, and a file
 * the user did not name is never replaced (the free model name).
 */
#ifndef BACKPROP_CLI_PATHS_H
#define BACKPROP_CLI_PATHS_H

#include <stddef.h>

/* One file of a command: the option that names it ("--out") and its path
 * (NULL: not given, skipped). For inputs, spec says path is a data spec
 * (PATH[:label=COL], csv:PATH, idx:A,B) whose files are checked each. For
 * outputs, except names the one input option it may share a file with
 * (--checkpoint with --resume: a run continues its own checkpoint), or NULL. */
typedef struct cli_file {
    const char *opt;
    const char *path;
    int spec;
    const char *except;
} cli_file;

/* Refuse an output that is the same file (device and inode) as an input or
 * as another output: prints "OUT and IN name the same file 'PATH'" and
 * returns CLI_USAGE; 0 when all are distinct. An output that does not exist
 * yet is the same as nothing. Nothing is read or written. */
int cli_paths_check(const char *cmd, const cli_file *outs, int n_out, const cli_file *ins,
                    int n_in);

/* The first of "BASE.EXT", "BASE-2.EXT", "BASE-3.EXT", ... that does not
 * exist, into buf. Returns 0, or -1 when none fits in size. */
int cli_paths_free_name(const char *base, const char *ext, char *buf, size_t size);

#endif
