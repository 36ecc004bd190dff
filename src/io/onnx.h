/*
 * onnx.h - what the ONNX writer (onnx.c) and reader (onnx_read.c) share:
 * the versions written, and the field numbers of the ONNX messages used
 * (from onnx.proto; every other field is skipped on reading).
 */
#ifndef BP_IO_ONNX_H
#define BP_IO_ONNX_H

#define BP__ONNX_IR_VERSION 7
#define BP__ONNX_OPSET 13
#define BP__ONNX_FLOAT 1          /* TensorProto.DataType FLOAT */
#define BP__ONNX_ATTR_FLOAT 1     /* AttributeProto.AttributeType */
#define BP__ONNX_ATTR_INT 2
/* The largest file read: protocol buffers are limited to 2 GiB. */
#define BP__ONNX_MAX_BYTES ((size_t)1 << 31)

/* Field numbers of the ONNX messages used here (onnx.proto). */
enum {
    /* ModelProto */
    BP__ONNX_MODEL_IR_VERSION = 1, BP__ONNX_MODEL_PRODUCER = 2,
    BP__ONNX_MODEL_PRODUCER_VERSION = 3, BP__ONNX_MODEL_DOC = 6, BP__ONNX_MODEL_GRAPH = 7,
    BP__ONNX_MODEL_OPSET = 8, BP__ONNX_MODEL_METADATA = 14,
    /* OperatorSetIdProto, StringStringEntryProto */
    BP__ONNX_OPSET_DOMAIN = 1, BP__ONNX_OPSET_VERSION = 2,
    BP__ONNX_ENTRY_KEY = 1, BP__ONNX_ENTRY_VALUE = 2,
    /* GraphProto */
    BP__ONNX_GRAPH_NODE = 1, BP__ONNX_GRAPH_NAME = 2, BP__ONNX_GRAPH_INITIALIZER = 5,
    BP__ONNX_GRAPH_DOC = 10, BP__ONNX_GRAPH_INPUT = 11, BP__ONNX_GRAPH_OUTPUT = 12,
    /* NodeProto, AttributeProto */
    BP__ONNX_NODE_INPUT = 1, BP__ONNX_NODE_OUTPUT = 2, BP__ONNX_NODE_NAME = 3,
    BP__ONNX_NODE_OP = 4, BP__ONNX_NODE_ATTR = 5, BP__ONNX_NODE_DOMAIN = 7,
    BP__ONNX_ATTR_NAME = 1, BP__ONNX_ATTR_F = 2, BP__ONNX_ATTR_I = 3, BP__ONNX_ATTR_TYPE = 20,
    /* TensorProto */
    BP__ONNX_TENSOR_DIMS = 1, BP__ONNX_TENSOR_TYPE = 2, BP__ONNX_TENSOR_FLOATS = 4,
    BP__ONNX_TENSOR_NAME = 8, BP__ONNX_TENSOR_RAW = 9, BP__ONNX_TENSOR_LOCATION = 14,
    /* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto(.Dimension) */
    BP__ONNX_VALUE_NAME = 1, BP__ONNX_VALUE_TYPE = 2,
    BP__ONNX_TYPE_TENSOR = 1, BP__ONNX_TTENSOR_ELEM = 1, BP__ONNX_TTENSOR_SHAPE = 2,
    BP__ONNX_SHAPE_DIM = 1, BP__ONNX_DIM_VALUE = 1, BP__ONNX_DIM_PARAM = 2
};

#endif
