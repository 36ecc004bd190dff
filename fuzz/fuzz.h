/*
 * fuzz.h - pieces shared by the fuzz harnesses in this folder.
 *
 * Each harness defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize). Built with -DBP_FUZZ=ON they link against
 * libFuzzer; in the ordinary build they link against replay.c, which runs
 * every file of a corpus through the harness once, so the committed corpora
 * (and every crash ever found) are regression tests of the suite.
 *
 * A harness must not crash, leak or trip a sanitizer on any input; the
 * readers it drives must return an error instead. The harnesses check a
 * few properties beyond "no crash" (a spec prints back to itself, a loaded
 * model round-trips) and call fuzz_fail when one does not hold.
 */
#ifndef BP_FUZZ_FUZZ_H
#define BP_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Route the library's allocations through hooks that refuse any single
 * request over 64 MiB, as a machine short of memory would: absurd sizes in
 * a file then exercise the out-of-memory paths instead of the fuzzer's
 * memory limit. Safe to call more than once. */
void fuzz_limit_memory(void);

/* A copy of data with a NUL after it (the readers get their text that way
 * from bp__read_file). Freed with free(). NULL when out of memory. */
char *fuzz_text(const uint8_t *data, size_t size);

/* Write data to a scratch file named after this process and `tag`, and
 * return its path (static storage, one per tag slot 0..3). NULL on failure. */
const char *fuzz_scratch(int slot, const char *suffix, const void *data, size_t size);

/* Report a broken property and stop (libFuzzer saves the input). */
void fuzz_fail(const char *what);

#endif
