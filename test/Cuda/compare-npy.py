#!/usr/bin/env python3
"""Compares two .npy files (little-endian f32 or f16, C order, same shape):
exits 1 with the worst element when max |a - b| > --tol. Standard library
only (the lit tests must not need numpy)."""

import argparse
import ast
import struct
import sys


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit("%s: not a .npy file" % path)
    major = data[6]
    if major == 1:
        (length,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", data[8:12])
        start = 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    descr, shape = header["descr"], tuple(header["shape"])
    if header["fortran_order"] or descr not in ("<f4", "<f2"):
        sys.exit("%s: expected a C-order <f4 or <f2 array, got %s" % (path, header))
    count = 1
    for d in shape:
        count *= d
    code = "f" if descr == "<f4" else "e"
    body = data[start + length:]
    values = struct.unpack("<%d%s" % (count, code), body[:count * struct.calcsize(code)])
    return shape, values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--tol", type=float, required=True)
    args = parser.parse_args()
    shape_a, a = read_npy(args.a)
    shape_b, b = read_npy(args.b)
    if shape_a != shape_b:
        sys.exit("shapes differ: %s vs %s" % (shape_a, shape_b))
    worst, index = 0.0, -1
    for i, (x, y) in enumerate(zip(a, b)):
        if x != x or y != y:
            sys.exit("NaN at flat index %d: %r vs %r" % (i, x, y))
        if abs(x - y) > worst:
            worst, index = abs(x - y), i
    print("shape %s: max abs difference %.3g (flat index %d)" % (list(shape_a), worst, index))
    if worst > args.tol:
        sys.exit("max abs difference %.3g > %g" % (worst, args.tol))


if __name__ == "__main__":
    main()
