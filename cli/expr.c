/*
 * expr.c - a recursive-descent parser for arithmetic expressions and their
 * evaluation with exact gradients by forward-mode dual numbers.
 *
 * Nodes live in one array. The parser creates every node after its
 * children, so the array is already in evaluation order: one pass from the
 * first node to the last (the root) computes every value and every
 * gradient, with no recursion at evaluation time.
 *
 * Grammar (lowest precedence first):
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := primary ('^' unary)?          right-associative
 *   primary := NUMBER | NAME | NAME '(' sum ')' | '(' sum ')'
 */
#include "expr.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200

typedef enum kind {
    K_NUM,
    K_VAR,
    K_NEG,
    K_ADD,
    K_SUB,
    K_MUL,
    K_DIV,
    K_POW,
    K_FUNC
} kind;

typedef enum func {
    F_SIN,
    F_COS,
    F_TAN,
    F_EXP,
    F_LOG,
    F_SQRT,
    F_ABS,
    F_TANH,
    F_SIGMOID
} func;

static const char *const func_names[] = {"sin",  "cos", "tan",  "exp",    "log",
                                         "sqrt", "abs", "tanh", "sigmoid"};
#define N_FUNCS ((int)(sizeof func_names / sizeof func_names[0]))

typedef struct node {
    kind k;
    int a, b;     /* children (indices of earlier nodes), -1 when unused */
    double num;   /* K_NUM */
    int var;      /* K_VAR: 0-based coordinate */
    func fn;      /* K_FUNC */
    int constant; /* no variable below this node */
} node;

struct expr {
    int n;         /* variables */
    node *nodes;   /* (count) in evaluation order; the root is last */
    int count, cap;
    double *val;   /* (count) */
    double *grad;  /* (count, n) */
};

typedef struct parser {
    const char *text;
    size_t pos;
    int depth;
    int failed;
    expr *e;
    char *msg;
    size_t msg_size;
} parser;

/* ---- parsing ----------------------------------------------------------- */

static int fail(parser *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int fail(parser *p, const char *fmt, ...)
{
    va_list ap;
    if (!p->failed) {
        va_start(ap, fmt);
        vsnprintf(p->msg, p->msg_size, fmt, ap);
        va_end(ap);
        p->failed = 1;
    }
    return -1;
}

static void skip_space(parser *p)
{
    while (isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

static char peek(parser *p)
{
    skip_space(p);
    return p->text[p->pos];
}

static int column(const parser *p)
{
    return (int)p->pos + 1;
}

/* "unexpected X at column N" for whatever stands at the current position. */
static int unexpected(parser *p)
{
    char c = peek(p);
    if (c == '\0')
        return fail(p, "unexpected end of expression at column %d", column(p));
    if (isprint((unsigned char)c))
        return fail(p, "unexpected '%c' at column %d", c, column(p));
    return fail(p, "unexpected character 0x%02x at column %d", (unsigned)(unsigned char)c,
                column(p));
}

static int add_node(parser *p, kind k, int a, int b)
{
    expr *e = p->e;
    if (e->count == e->cap) {
        int cap = e->cap ? 2 * e->cap : 16;
        node *nodes = realloc(e->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return fail(p, "out of memory");
        e->nodes = nodes;
        e->cap = cap;
    }
    node *nd = &e->nodes[e->count];
    memset(nd, 0, sizeof *nd);
    nd->k = k;
    nd->a = a;
    nd->b = b;
    nd->constant = (a < 0 || e->nodes[a].constant) && (b < 0 || e->nodes[b].constant);
    return e->count++;
}

static int parse_sum(parser *p);
static int parse_unary(parser *p);

static int parse_number(parser *p)
{
    const char *s = p->text + p->pos;
    size_t len = 0;
    char buf[64];
    while (isdigit((unsigned char)s[len]))
        len++;
    if (s[len] == '.') {
        len++;
        while (isdigit((unsigned char)s[len]))
            len++;
    }
    if (s[len] == 'e' || s[len] == 'E') {
        size_t k = len + 1;
        if (s[k] == '+' || s[k] == '-')
            k++;
        if (isdigit((unsigned char)s[k])) {
            while (isdigit((unsigned char)s[k]))
                k++;
            len = k;
        }
    }
    if (len >= sizeof buf)
        return fail(p, "number too long at column %d", column(p));
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return fail(p, "number out of range at column %d", column(p));
    int id = add_node(p, K_NUM, -1, -1);
    if (id >= 0)
        p->e->nodes[id].num = v;
    p->pos += len;
    return id;
}

/* The coordinate a variable name stands for, or -1. */
static int variable_index(const char *name, size_t len, int n)
{
    static const char *const short_names[] = {"x", "y", "z"};
    if (n <= 3) {
        for (int i = 0; i < n; i++)
            if (len == 1 && name[0] == short_names[i][0])
                return i;
    }
    if (len >= 2 && name[0] == 'x' && name[1] != '0') {
        int v = 0;
        for (size_t i = 1; i < len; i++) {
            if (!isdigit((unsigned char)name[i]) || v > 100000000)
                return -1;
            v = 10 * v + (name[i] - '0');
        }
        return v >= 1 && v <= n ? v - 1 : -1;
    }
    return -1;
}

static void describe_variables(int n, char *buf, size_t size)
{
    if (n == 1)
        snprintf(buf, size, "x");
    else if (n == 2)
        snprintf(buf, size, "x, y or x1, x2");
    else if (n == 3)
        snprintf(buf, size, "x, y, z or x1, x2, x3");
    else
        snprintf(buf, size, "x1 to x%d", n);
}

static int parse_name(parser *p)
{
    const char *s = p->text + p->pos;
    int col = column(p), id;
    size_t len = 0;
    while (isalnum((unsigned char)s[len]) || s[len] == '_')
        len++;
    p->pos += len;
    for (int f = 0; f < N_FUNCS; f++) {
        if (strlen(func_names[f]) != len || strncmp(func_names[f], s, len) != 0)
            continue;
        if (peek(p) != '(')
            return fail(p, "expected '(' after '%s' at column %d", func_names[f], column(p));
        p->pos++;
        int arg = parse_sum(p);
        if (arg < 0)
            return -1;
        if (peek(p) != ')') {
            if (peek(p) == '\0')
                return fail(p, "missing ')' at column %d to close '%s('", column(p),
                            func_names[f]);
            return unexpected(p);
        }
        p->pos++;
        if ((id = add_node(p, K_FUNC, arg, -1)) >= 0)
            p->e->nodes[id].fn = (func)f;
        return id;
    }
    if ((len == 2 && strncmp(s, "pi", 2) == 0) || (len == 1 && s[0] == 'e')) {
        if ((id = add_node(p, K_NUM, -1, -1)) >= 0)
            p->e->nodes[id].num = len == 2 ? 3.14159265358979323846 : 2.71828182845904523536;
        return id;
    }
    int var = variable_index(s, len, p->e->n);
    if (var >= 0) {
        if ((id = add_node(p, K_VAR, -1, -1)) >= 0) {
            p->e->nodes[id].var = var;
            p->e->nodes[id].constant = 0;
        }
        return id;
    }
    if (peek(p) == '(')
        return fail(p, "unknown function '%.*s' at column %d (functions: sin cos tan exp log "
                       "sqrt abs tanh sigmoid)", (int)len, s, col);
    char vars[64];
    describe_variables(p->e->n, vars, sizeof vars);
    return fail(p, "unknown variable '%.*s' at column %d (variables here: %s)", (int)len, s,
                col, vars);
}

static int parse_primary(parser *p)
{
    char c = peek(p);
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p->text[p->pos + 1])))
        return parse_number(p);
    if (isalpha((unsigned char)c) || c == '_')
        return parse_name(p);
    if (c == '(') {
        int open = column(p);
        p->pos++;
        int inner = parse_sum(p);
        if (inner < 0)
            return -1;
        if (peek(p) != ')') {
            if (peek(p) == '\0')
                return fail(p, "missing ')' at column %d to close the '(' at column %d",
                            column(p), open);
            return unexpected(p);
        }
        p->pos++;
        return inner;
    }
    return unexpected(p);
}

static int parse_power(parser *p)
{
    int base = parse_primary(p);
    if (base < 0 || peek(p) != '^')
        return base;
    p->pos++;
    int exponent = parse_unary(p); /* right-associative: 2^3^2 = 2^(3^2) */
    if (exponent < 0)
        return -1;
    return add_node(p, K_POW, base, exponent);
}

static int parse_unary(parser *p)
{
    char c = peek(p);
    int arg;
    /* every chain of signs and powers passes here: bound its depth */
    if (++p->depth > MAX_DEPTH)
        return fail(p, "expression nested too deeply at column %d", column(p));
    if (c != '-' && c != '+') {
        arg = parse_power(p);
        p->depth--;
        return arg;
    }
    p->pos++;
    arg = parse_unary(p);
    p->depth--;
    if (arg < 0 || c == '+')
        return arg;
    return add_node(p, K_NEG, arg, -1);
}

static int parse_product(parser *p)
{
    int left = parse_unary(p);
    while (left >= 0 && (peek(p) == '*' || peek(p) == '/')) {
        kind k = peek(p) == '*' ? K_MUL : K_DIV;
        p->pos++;
        int right = parse_unary(p);
        if (right < 0)
            return -1;
        left = add_node(p, k, left, right);
    }
    return left;
}

static int parse_sum(parser *p)
{
    if (++p->depth > MAX_DEPTH)
        return fail(p, "expression nested too deeply at column %d", column(p));
    int left = parse_product(p);
    while (left >= 0 && (peek(p) == '+' || peek(p) == '-')) {
        kind k = peek(p) == '+' ? K_ADD : K_SUB;
        p->pos++;
        int right = parse_product(p);
        if (right < 0)
            return -1;
        left = add_node(p, k, left, right);
    }
    p->depth--;
    return left;
}

expr *expr_parse(const char *text, int n, char *msg, size_t msg_size)
{
    parser p = {text, 0, 0, 0, NULL, msg, msg_size};
    if (msg_size)
        msg[0] = '\0';
    if (n < 1) {
        fail(&p, "an expression needs at least one variable");
        return NULL;
    }
    if (!(p.e = calloc(1, sizeof *p.e))) {
        fail(&p, "out of memory");
        return NULL;
    }
    p.e->n = n;
    if (peek(&p) == '\0') {
        fail(&p, "the expression is empty");
        goto fail;
    }
    if (parse_sum(&p) < 0)
        goto fail;
    if (peek(&p) != '\0') {
        unexpected(&p);
        goto fail;
    }
    p.e->val = malloc((size_t)p.e->count * sizeof *p.e->val);
    p.e->grad = malloc((size_t)p.e->count * (size_t)n * sizeof *p.e->grad);
    if (!p.e->val || !p.e->grad) {
        fail(&p, "out of memory");
        goto fail;
    }
    return p.e;
fail:
    expr_free(p.e);
    return NULL;
}

void expr_free(expr *e)
{
    if (!e)
        return;
    free(e->nodes);
    free(e->val);
    free(e->grad);
    free(e);
}

/* ---- evaluation -------------------------------------------------------- */

static double apply(func fn, double a)
{
    switch (fn) {
    case F_SIN:
        return sin(a);
    case F_COS:
        return cos(a);
    case F_TAN:
        return tan(a);
    case F_EXP:
        return exp(a);
    case F_LOG:
        return log(a);
    case F_SQRT:
        return sqrt(a);
    case F_ABS:
        return fabs(a);
    case F_TANH:
        return tanh(a);
    case F_SIGMOID:
        return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a));
    }
    return NAN;
}

/* d fn(a) / da, given v = fn(a). */
static double slope(func fn, double a, double v)
{
    switch (fn) {
    case F_SIN:
        return cos(a);
    case F_COS:
        return -sin(a);
    case F_TAN:
        return 1.0 + v * v;
    case F_EXP:
        return v;
    case F_LOG:
        return 1.0 / a;
    case F_SQRT:
        return 0.5 / v;
    case F_ABS:
        return a > 0 ? 1.0 : a < 0 ? -1.0 : 0.0;
    case F_TANH:
        return 1.0 - v * v;
    case F_SIGMOID:
        return v * (1.0 - v);
    }
    return NAN;
}

/* One pass over the nodes; gradients too when with_grad is set. */
static double evaluate(expr *e, const double *x, int with_grad)
{
    const int n = e->n;
    for (int k = 0; k < e->count; k++) {
        const node *nd = &e->nodes[k];
        double *g = e->grad + (size_t)k * (size_t)n;
        double a = nd->a >= 0 ? e->val[nd->a] : 0.0;
        double b = nd->b >= 0 ? e->val[nd->b] : 0.0;
        const double *ga = nd->a >= 0 ? e->grad + (size_t)nd->a * (size_t)n : NULL;
        const double *gb = nd->b >= 0 ? e->grad + (size_t)nd->b * (size_t)n : NULL;
        double v = 0.0;
        switch (nd->k) {
        case K_NUM:
            v = nd->num;
            break;
        case K_VAR:
            v = x[nd->var];
            break;
        case K_NEG:
            v = -a;
            break;
        case K_ADD:
            v = a + b;
            break;
        case K_SUB:
            v = a - b;
            break;
        case K_MUL:
            v = a * b;
            break;
        case K_DIV:
            v = a / b;
            break;
        case K_POW:
            v = pow(a, b);
            break;
        case K_FUNC:
            v = apply(nd->fn, a);
            break;
        }
        e->val[k] = v;
        if (!with_grad)
            continue;
        if (nd->constant) {
            memset(g, 0, (size_t)n * sizeof *g);
            continue;
        }
        /* The chain rule, one coordinate at a time. Terms whose inner slope
         * is zero are skipped, so an infinite outer slope does not turn a
         * constant into NaN. */
        double da = 0.0, db = 0.0; /* d node / d a and d node / d b */
        switch (nd->k) {
        case K_NUM:
            break;
        case K_VAR:
            memset(g, 0, (size_t)n * sizeof *g);
            g[nd->var] = 1.0;
            continue;
        case K_NEG:
            da = -1.0;
            break;
        case K_ADD:
            da = 1.0, db = 1.0;
            break;
        case K_SUB:
            da = 1.0, db = -1.0;
            break;
        case K_MUL:
            da = b, db = a;
            break;
        case K_DIV:
            da = 1.0 / b, db = -v / b;
            break;
        case K_POW:
            /* b * a^(b-1) keeps negative bases with a constant exponent */
            da = b == 0.0 ? 0.0 : b * pow(a, b - 1.0);
            db = e->nodes[nd->b].constant ? 0.0 : v * log(a);
            break;
        case K_FUNC:
            da = slope(nd->fn, a, v);
            break;
        }
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            if (ga && ga[j] != 0.0)
                s += da * ga[j];
            if (gb && gb[j] != 0.0)
                s += db * gb[j];
            g[j] = s;
        }
    }
    return e->val[e->count - 1];
}

double expr_value(expr *e, const double *x)
{
    return evaluate(e, x, 0);
}

double expr_gradient(expr *e, const double *x, double *grad)
{
    double v = evaluate(e, x, 1);
    memcpy(grad, e->grad + (size_t)(e->count - 1) * (size_t)e->n, (size_t)e->n * sizeof *grad);
    return v;
}
