/*===- npy.h - NumPy .npy files as tmixrt tensors --------------------------===
 *
 * A small, strict reader and writer of the NumPy .npy format (versions 1.0,
 * 2.0 and 3.0), in the static library tmixrt_npy on top of libtmixrt.
 *
 * Supported element types: little-endian '<f4' (f32), '<f2' (f16), '<i4'
 * (i32) and '<i8' (i64), C order. Everything else is refused with an
 * INVALID_ARGUMENT status whose message says what is wrong: another magic or
 * version, big-endian or other dtypes, fortran_order True, a malformed header
 * dictionary, truncated data or trailing bytes, absurd sizes. bf16 has no
 * .npy dtype: writing a bf16 tensor fails (convert it to f32 first).
 *===----------------------------------------------------------------------===*/

#ifndef TMIXRT_NPY_H
#define TMIXRT_NPY_H

#include "tmixrt/tmixrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the .npy file at `path` into a new owned tensor. NOT_FOUND when the
 * file does not exist; INVALID_ARGUMENT when it is not a supported .npy file.
 * Messages start with the path. */
tmixrt_status tmixrt_npy_read(const char *path, tmixrt_tensor **out);

/* Parses the .npy image `bytes[0..size)` into a new owned tensor. */
tmixrt_status tmixrt_npy_parse(const void *bytes, size_t size,
                               tmixrt_tensor **out);

/* Writes `tensor` (f32, f16, i32 or i64) to `path` as a C-order .npy file,
 * version 1.0 (2.0 when the header needs it), replacing the file. */
tmixrt_status tmixrt_npy_write(const char *path, const tmixrt_tensor *tensor);

/* The .npy descr of `dtype` ("<f4", ...), or NULL when it has none. */
const char *tmixrt_npy_descr(tmixrt_dtype dtype);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TMIXRT_NPY_H */
