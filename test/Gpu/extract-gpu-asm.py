#!/usr/bin/env python3
"""Prints the assembly that gpu-module-to-binary{format=isa} stored in the
gpu.binary ops of an MLIR file (stdin or the first argument): the
`assembly = "..."` string of each #gpu.object, unescaped. Exits with 1 when
there is none. Used by the lit tests to hand PTX to ptxas.

With --ptxas=PTXAS --arch=sm_XX it assembles each module on its own instead
(ptxas takes one module per file) and prints how many it assembled; the
first failure's diagnostics go to stderr and the exit status is 1."""

import os
import subprocess
import sys
import tempfile


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


def modules(text):
    key = 'assembly = "'
    pos = text.find(key)
    while pos >= 0:
        asm, end = unescape(text, pos + len(key))
        yield asm
        pos = text.find(key, end)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    text = open(args[0]).read() if args else sys.stdin.read()
    found = list(modules(text))
    if not found:
        sys.stderr.write("extract-gpu-asm: no gpu.object with an assembly\n")
        return 1
    if "ptxas" not in opts:
        for asm in found:
            sys.stdout.write(asm.decode("utf-8"))
        return 0
    arch = opts.get("arch", "sm_80")
    with tempfile.TemporaryDirectory() as tmp:
        for i, asm in enumerate(found):
            path = os.path.join(tmp, "module%d.ptx" % i)
            with open(path, "wb") as f:
                f.write(asm)
            run = subprocess.run([opts["ptxas"], "-arch=" + arch, path, "-o", os.devnull],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.stderr.write("extract-gpu-asm: ptxas failed on module %d of %d:\n%s%s"
                                 % (i, len(found), run.stdout, run.stderr))
                return 1
    print("ptxas -arch=%s: %d modules assembled" % (arch, len(found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
