/*
 * error.c - error codes, their descriptions, and the library version.
 * The codes and texts come from the one BP_ERRORS list in backprop.h.
 */
#include "internal.h"

#include <stdio.h>

const char *bp_version(void)
{
    return BP_VERSION_STRING;
}

const char *bp_strerror(int code)
{
    switch (code) {
    case BP_OK:
        return "success";
#define BP__ERR_CASE(name, value, text) \
    case name:                          \
        return text;
        BP_ERRORS(BP__ERR_CASE)
#undef BP__ERR_CASE
    default:
        return "unknown error";
    }
}

void bp__vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    if (size == 0)
        return;
    if (vsnprintf(buf, size, fmt, ap) < 0)
        buf[0] = '\0';
}

void bp__format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp__vformat(buf, size, fmt, ap);
    va_end(ap);
}

int bp__error_set(bp_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        bp__vformat(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
