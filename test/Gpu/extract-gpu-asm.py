#!/usr/bin/env python3
"""Prints the assembly that gpu-module-to-binary{format=isa} stored in the
gpu.binary ops of an MLIR file (stdin or the first argument): the
`assembly = "..."` string of each #gpu.object, unescaped. Exits with 1 when
there is none. Used by the lit tests to hand PTX to ptxas."""

import sys


def unescape(text, start):
    """Decodes the MLIR string literal starting after its opening quote at
    `start`; returns the bytes and the index after the closing quote."""
    out = bytearray()
    i = start
    while True:
        c = text[i]
        if c == '"':
            return bytes(out), i + 1
        if c == "\\":
            n = text[i + 1]
            if n in "0123456789abcdefABCDEF":
                out.append(int(text[i + 1 : i + 3], 16))
                i += 3
                continue
            out += {"n": b"\n", "t": b"\t", "\\": b"\\", '"': b'"'}[n]
            i += 2
            continue
        out += c.encode("utf-8")
        i += 1


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    key = 'assembly = "'
    found = 0
    pos = text.find(key)
    while pos >= 0:
        asm, end = unescape(text, pos + len(key))
        sys.stdout.write(asm.decode("utf-8"))
        found += 1
        pos = text.find(key, end)
    if not found:
        sys.stderr.write("extract-gpu-asm: no gpu.object with an assembly\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
