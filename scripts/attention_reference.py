#!/usr/bin/env python3
"""Independent attention reference for the mlir-runner integration test.

Plain Python (float64, no numpy), written from shared/design/mixers.md §2.0.
Prints the dense constants that test/Integration/attention-reference-pipeline.mlir
embeds: the inputs, and the expected output and log-sum-exp.

    python3 scripts/attention_reference.py
"""
import math

B, HQ, HKV, L, S, D, DV = 1, 2, 1, 5, 4, 3, 2
SCALE = 0.5


def value(seed, *idx):
    """A deterministic input value in (-1, 1) with 4 decimals."""
    h = seed
    for i in idx:
        h = h * 31 + i + 7
    return round(math.sin(h * 12.9898) * 0.9, 4)


q = [[[[value(1, b, h, i, d) for d in range(D)] for i in range(L)] for h in range(HQ)] for b in range(B)]
k = [[[[value(2, b, h, j, d) for d in range(D)] for j in range(S)] for h in range(HKV)] for b in range(B)]
v = [[[[value(3, b, h, j, e) for e in range(DV)] for j in range(S)] for h in range(HKV)] for b in range(B)]
bias = [[value(4, i, j) for j in range(S)] for i in range(L)]  # [L, S], broadcast


def causal(i, j):
    return j <= i + S - L  # queries right-aligned to the keys


out = [[[[0.0] * DV for _ in range(L)] for _ in range(HQ)] for _ in range(B)]
lse = [[[0.0] * L for _ in range(HQ)] for _ in range(B)]
group = HQ // HKV
for b in range(B):
    for h in range(HQ):
        hk = h // group
        for i in range(L):
            s = []
            for j in range(S):
                if causal(i, j):
                    dot = sum(q[b][h][i][d] * k[b][hk][j][d] for d in range(D))
                    s.append(SCALE * dot + bias[i][j])
                else:
                    s.append(-math.inf)
            m = max(s)
            if m == -math.inf:
                lse[b][h][i] = -math.inf  # output row stays 0
                continue
            w = [math.exp(x - m) for x in s]
            z = sum(w)
            for e in range(DV):
                out[b][h][i][e] = sum(w[j] / z * v[b][hk][j][e] for j in range(S))
            lse[b][h][i] = m + math.log(z)


def dense(x):
    if isinstance(x, list):
        return "[" + ", ".join(dense(y) for y in x) + "]"
    if x == -math.inf:
        return "0xFF800000"
    return "%.8e" % x


for name, t in [("q", q), ("k", k), ("v", v), ("bias", bias), ("expected_out", out), ("expected_lse", lse)]:
    print(f"{name} = dense<{dense(t)}>")
