/*
 * idx_split.h - how the IDX harnesses cut one fuzz input into an image file
 * and a label file: the first two bytes, little-endian, give the length of
 * the image part (clamped to what there is); the label part is the rest.
 */
#ifndef BP_FUZZ_IDX_SPLIT_H
#define BP_FUZZ_IDX_SPLIT_H

#include <stddef.h>
#include <stdint.h>

static void idx_split(const uint8_t *data, size_t size, const uint8_t **images,
                      size_t *n_images, const uint8_t **labels, size_t *n_labels)
{
    size_t k = 0;
    if (size >= 2) {
        k = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
    } else {
        size = 0;
    }
    if (k > size)
        k = size;
    *images = data;
    *n_images = k;
    *labels = data + k;
    *n_labels = size - k;
}

#endif
