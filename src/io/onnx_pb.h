/*
 * onnx_pb.h - the few pieces of the protocol-buffers wire format that the
 * ONNX writer and reader need: a growable output buffer with one put per
 * wire type, and a reader that walks the fields of one message.
 *
 * A message is a sequence of fields, each a key (field number << 3 | wire
 * type, as a varint) and a value: 0 a varint, 1 eight bytes, 2 a varint
 * length and that many bytes (strings, bytes, packed arrays, nested
 * messages), 5 four bytes. Fixed-width values are little-endian.
 */
#ifndef BP_IO_ONNX_PB_H
#define BP_IO_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

enum { BP__PB_VARINT = 0, BP__PB_I64 = 1, BP__PB_LEN = 2, BP__PB_I32 = 5 };

/* An output buffer. After a failed allocation `failed` is set and every
 * later put does nothing, so a writer checks once at the end. */
typedef struct bp__pb {
    unsigned char *data;
    size_t len, cap;
    int failed;
} bp__pb;

void bp__pb_free(bp__pb *b);
void bp__pb_varint(bp__pb *b, int field, uint64_t v);
/* An int64 field: negative values take ten bytes, as protobuf writes them. */
void bp__pb_int64(bp__pb *b, int field, int64_t v);
void bp__pb_float(bp__pb *b, int field, float v);
void bp__pb_bytes(bp__pb *b, int field, const void *p, size_t n);
void bp__pb_string(bp__pb *b, int field, const char *s);
/* A nested message: the bytes of sub (a failed sub fails b too). */
void bp__pb_message(bp__pb *b, int field, const bp__pb *sub);
/* n floats as little-endian bytes (a tensor's raw_data). */
void bp__pb_floats(bp__pb *b, int field, const float *v, size_t n);
/* The bytes of sub as they are: fields already encoded (a failed sub
 * fails b too). */
void bp__pb_append(bp__pb *b, const bp__pb *sub);

/* A reader over one message; `base` is the start of the whole buffer, so
 * positions can be reported as offsets in the file. */
typedef struct bp__pb_reader {
    const unsigned char *p, *end, *base;
} bp__pb_reader;

typedef struct bp__pb_field {
    int number;
    int wire;
    uint64_t value;             /* varint, I32 and I64 values */
    const unsigned char *data;  /* LEN: the bytes */
    size_t len;
    size_t offset;              /* of the field's key, from base */
} bp__pb_field;

bp__pb_reader bp__pb_open(const void *data, size_t len);
/* The next field: 1 when one was read, 0 at the end of the message, -1 on
 * malformed input (msg receives what is wrong and where). */
int bp__pb_next(bp__pb_reader *r, bp__pb_field *f, char *msg, size_t size);
/* A reader over a LEN field's bytes (a nested message). */
bp__pb_reader bp__pb_sub(const bp__pb_reader *r, const bp__pb_field *f);
/* The next varint of a packed array (a reader over a LEN field's bytes):
 * 1 when one was read, 0 at the end, -1 when one runs past the end. */
int bp__pb_next_varint(bp__pb_reader *r, uint64_t *v);
/* The float of an I32 field. */
float bp__pb_float_of(const bp__pb_field *f);

#endif
