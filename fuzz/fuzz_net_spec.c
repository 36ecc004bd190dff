/*
 * fuzz_net_spec.c - the network spec parser. A spec that parses must print
 * back (bp_net_spec) to a canonical string that parses to the same string.
 */
#include "fuzz.h"

#include "backprop.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_SPEC 65536

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_limit_memory();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *canon = NULL, *again = NULL;
    bp_error err;
    bp_net *net = NULL, *net2 = NULL;

    if (!text)
        return 0;
    net = bp_net_parse(text, &err);
    if (!net) {
        if (err.message[0] == '\0')
            fuzz_fail("an error without a message");
        goto done;
    }
    canon = malloc(FUZZ_SPEC);
    again = malloc(FUZZ_SPEC);
    if (!canon || !again || bp_net_spec(net, canon, FUZZ_SPEC) >= FUZZ_SPEC)
        goto done;
    net2 = bp_net_parse(canon, &err);
    if (!net2) {
        /* the same sizes can still run out of memory the second time */
        if (err.code != BP_ENOMEM)
            fuzz_fail("a canonical spec does not parse");
        goto done;
    }
    if (bp_net_spec(net2, again, FUZZ_SPEC) >= FUZZ_SPEC || strcmp(canon, again) != 0)
        fuzz_fail("a canonical spec does not print back to itself");
    if (bp_net_param_count(net) != bp_net_param_count(net2))
        fuzz_fail("the canonical spec has a different parameter count");
done:
    bp_net_free(net);
    bp_net_free(net2);
    free(canon);
    free(again);
    free(text);
    return 0;
}
