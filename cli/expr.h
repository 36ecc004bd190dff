/*
 * expr.h - arithmetic expressions of n variables, parsed once into a small
 * tree and evaluated with their exact gradient (forward-mode dual numbers).
 *
 * The language: numbers (1, 0.5, 1e-3), + - * / ^ (^ is right-associative
 * and binds tighter than unary minus, so -x^2 is -(x^2)), parentheses, the
 * functions sin cos tan exp log sqrt abs tanh sigmoid, and the constants pi
 * and e. Variables: x1..xn always; with n = 1 also x; with n = 2 or 3 also
 * x, y (and z) for the first, second (and third) coordinate.
 */
#ifndef BACKPROP_CLI_EXPR_H
#define BACKPROP_CLI_EXPR_H

#include <stddef.h>

typedef struct expr expr;

/* Parse text for n variables. On failure returns NULL and writes a message
 * such as "unexpected ')' at column 6" to msg. */
expr *expr_parse(const char *text, int n, char *msg, size_t msg_size);
void expr_free(expr *e);

/* The value at x (n values). */
double expr_value(expr *e, const double *x);
/* The value at x and, in grad (n values), its gradient. */
double expr_gradient(expr *e, const double *x, double *grad);

#endif /* BACKPROP_CLI_EXPR_H */
