/*
 * io.h - declarations shared by the model-file readers and writers.
 */
#ifndef BP_IO_IO_H
#define BP_IO_IO_H

#include "backprop.h"
#include "io/json.h"

/* Largest model file read, and largest safetensors header (as the
 * safetensors project limits it). */
#define BP__MODEL_MAX_BYTES ((size_t)1 << 32)
#define BP__ST_MAX_HEADER ((size_t)100 << 20)

bp_net *bp__safetensors_load(const char *path, const char *data, size_t len,
                             bp_meta **meta, bp_error *err);
/* The same with a spec given by the caller (NULL: none): it reads a file
 * without "net" in its metadata (a state dict), and must agree with the
 * file's own spec otherwise. */
bp_net *bp__safetensors_load_spec(const char *path, const char *data, size_t len,
                                  const char *given, bp_meta **meta, bp_error *err);
/* 0 when the specs given and own (the file's, path naming it) parse to
 * the same network; BP_EINVAL naming both otherwise. */
int bp__spec_agree(const char *path, const char *given, const char *own, bp_error *err);
bp_net *bp__model_json_load(const char *path, const char *data, size_t len,
                            bp_meta **meta, bp_error *err);

/* Metadata from a JSON object of strings (md may be NULL: no entries) into
 * a new *out; `field` names the object in errors ("__metadata__"). */
int bp__meta_from_json(const char *path, const char *field, const bp__json *md, bp_meta **out,
                       bp_error *err);

/* Whether this machine stores floats little-endian. */
int bp__little_endian(void);

#endif
