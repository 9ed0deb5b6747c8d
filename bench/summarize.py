#!/usr/bin/env python3
"""Summary tables of a tmix-attention-bench run (docs/benchmarks.md).

    bench/summarize.py BENCH.json [RSS.txt]

BENCH.json is Google Benchmark's --benchmark_out (JSON) of
tmix-attention-bench; RSS.txt, optional, holds the lines tmix-attention-rss
printed. Per benchmark the median over repetitions is used. Prints:

  - OpenBLAS sgemm GFLOP/s per thread count (the practical peak),
  - per (mask, L, D, threads): tmix, OpenBLAS-unfused and naive GFLOP/s, the
    ratio tmix/OpenBLAS (> 1: tmix is faster) and tmix's fraction of the
    sgemm GFLOP/s at the same thread count,
  - time ratios causal/full and window/full per L (targets at L = 8192),
  - peak RSS per L, when RSS.txt is given,
  - every benchmark that failed (wrong result, artifact missing); the exit
    status is 1 then.

Standard library only.
"""

import json
import statistics
import sys

MASK_ORDER = {"none": 0, "causal": 1, "window512": 2}
TARGETS = {"causal": 0.55, "window512": 0.15}  # time vs full, at TARGET_L
TARGET_L = 8192
TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_name(run_name):
    """'tmix/causal/L:2048/D:64/threads:2/real_time' -> dict."""
    parts = run_name.split("/")
    info = {"family": parts[0], "mask": None}
    for part in parts[1:]:
        if ":" in part:
            key, value = part.split(":", 1)
            info[key] = int(value) if value.isdigit() else value
        elif part != "real_time" and info["mask"] is None:
            info["mask"] = part
    return info


def load(path):
    with open(path) as f:
        doc = json.load(f)
    times, flops, errors = {}, {}, {}
    for b in doc.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
            continue
        if b.get("run_type", "iteration") != "iteration":
            continue
        times.setdefault(name, []).append(
            b["real_time"] * TO_MS[b.get("time_unit", "ns")])
        if "FLOPS" in b:
            flops.setdefault(name, []).append(b["FLOPS"])
    results = {}
    for name, ts in times.items():
        info = parse_name(name)
        info["ms"] = statistics.median(ts)
        info["gflops"] = statistics.median(flops[name]) / 1e9 if name in flops else None
        info["reps"] = len(ts)
        results[name] = info
    return doc.get("context", {}), results, errors


def table(headers, rows, align=None):
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    align = align or ["<"] + [">"] * (len(headers) - 1)
    fmt = "  ".join("{:%s%d}" % (a, w) for a, w in zip(align, widths))
    lines = [fmt.format(*headers), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def num(value, spec):
    return "-" if value is None else format(value, spec)


def summarize_bench(path):
    context, results, errors = load(path)
    out = []
    out.append("tmix attention benchmarks: B=1, H=8, L=S, f32, wall-clock time, "
               "median of %s repetition(s)" %
               (max((r["reps"] for r in results.values()), default=0)))
    for key in ("host_name", "num_cpus", "mhz_per_cpu", "openblas",
                "openblas_core", "tmix_producer", "tmix_multithreaded"):
        if key in context:
            out.append("  %-18s %s" % (key + ":", context[key]))
    load_avg = context.get("load_avg")
    if load_avg:
        out.append("  %-18s %s" % ("load_avg:", " ".join("%.2f" % x for x in load_avg)))

    by_key = {}
    peak = {}
    for r in results.values():
        if r["family"] == "sgemm_peak":
            peak[r["threads"]] = r["gflops"]
            continue
        key = (r.get("mask"), r.get("L"), r.get("D"), r.get("threads"))
        by_key.setdefault(key, {})[r["family"]] = r
    # Naive runs are single-threaded; show them on every thread count's row.
    for (mask, L, D, threads), fams in by_key.items():
        if "naive" not in fams and (mask, L, D, 1) in by_key:
            naive = by_key[(mask, L, D, 1)].get("naive")
            if naive:
                fams["naive"] = naive

    out.append("")
    out.append("OpenBLAS sgemm 2048^3 (practical peak of this machine):")
    out.append(table(["threads", "GFLOP/s"],
                     [[str(t), num(g, ".1f")] for t, g in sorted(peak.items())]))

    out.append("")
    out.append("Attention GFLOP/s (flops = 4*B*H*L*S*D, halved for causal, "
               "visible pairs only for window512):")
    rows = []
    for key in sorted((k for k in by_key if k[1] is not None),
                      key=lambda k: (k[2], k[1], MASK_ORDER.get(k[0], 9), k[3])):
        mask, L, D, threads = key
        fams = by_key[key]
        tmix, blas, naive = (fams.get(f) for f in ("tmix", "openblas_unfused", "naive"))
        if tmix is None and blas is None:
            continue
        ratio = (tmix["gflops"] / blas["gflops"]) if tmix and blas else None
        frac = (tmix["gflops"] / peak[threads]) if tmix and peak.get(threads) else None
        rows.append([mask, str(L), str(D), str(threads),
                     num(tmix and tmix["ms"], ".2f"), num(tmix and tmix["gflops"], ".2f"),
                     num(blas and blas["ms"], ".2f"), num(blas and blas["gflops"], ".2f"),
                     num(ratio, ".3f"), num(frac, ".3f"),
                     num(naive and naive["gflops"], ".2f")])
    out.append(table(["mask", "L", "D", "thr", "tmix ms", "tmix GF/s", "blas ms",
                      "blas GF/s", "tmix/blas", "tmix/sgemm", "naive GF/s"],
                     rows, ["<", ">", ">", ">", ">", ">", ">", ">", ">", ">", ">"]))
    out.append("  tmix/blas: tmix GFLOP/s over the unfused OpenBLAS path's (> 1: tmix "
               "is faster); tmix/sgemm: over sgemm_peak at the same thread count.")

    out.append("")
    out.append("Time relative to full attention (same L, D, threads); targets at "
               "L=%d: causal <= %.2f, window512 <= %.2f:" %
               (TARGET_L, TARGETS["causal"], TARGETS["window512"]))
    rows = []
    full_keys = sorted((k for k in by_key if k[0] == "none" and k[1] is not None),
                       key=lambda k: (k[2], k[1], k[3]))
    for _, L, D, threads in full_keys:
        row = [str(L), str(D), str(threads)]
        for family in ("tmix", "openblas_unfused"):
            full = by_key[("none", L, D, threads)].get(family)
            for mask in ("causal", "window512"):
                other = by_key.get((mask, L, D, threads), {}).get(family)
                if not full or not other:
                    row.append("-")
                    continue
                r = other["ms"] / full["ms"]
                cell = "%.3f" % r
                if family == "tmix" and L == TARGET_L:
                    cell += " ok" if r <= TARGETS[mask] else " MISS"
                row.append(cell)
        rows.append(row)
    out.append(table(["L", "D", "thr", "tmix causal", "tmix window", "blas causal",
                      "blas window"], rows))
    return "\n".join(out), errors


def summarize_rss(path):
    entries = []
    with open(path) as f:
        for line in f:
            fields = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if "L" in fields and "peak_rss_MiB" in fields:
                entries.append(fields)
    if not entries:
        return "Peak RSS: no measurements"
    entries.sort(key=lambda e: int(e["L"]))
    rows = []
    for e in entries:
        L = int(e["L"])
        scores = 4.0 * L * L / 2**20  # one f32 L x S score matrix
        rows.append([e["L"], e.get("mask", "?"), e.get("threads", "?"),
                     e.get("seconds", "-"), e["tensors_MiB"], e["peak_rss_MiB"],
                     e["extra_MiB"], e["call_growth_MiB"], "%.0f" % scores])
    out = ["Peak RSS of one tmix call (fresh process per L; B=1, H=8, D=%s):" %
           entries[0].get("D", "?"),
           table(["L", "mask", "thr", "call s", "q+k+v+out MiB", "peak MiB",
                  "peak-tensors MiB", "call added MiB", "one LxS f32 MiB"], rows)]
    # Linear in L: the call's own memory may grow at most about in proportion
    # to L (per-row statistics), never like an L x S matrix.
    first, last = entries[0], entries[-1]
    l0, l1 = int(first["L"]), int(last["L"])
    g0, g1 = float(first["call_growth_MiB"]), float(last["call_growth_MiB"])
    if l1 > l0:
        # Allow 8 MiB of noise (allocator, thread stacks) on top of linear.
        linear = g1 <= max(g0, 1.0) * (l1 / l0) + 8.0
        out.append("  call added %.1f MiB at L=%d and %.1f MiB at L=%d (L x%.0f): %s"
                   % (g0, l0, g1, l1, l1 / l0,
                      "grows at most linearly in L" if linear
                      else "GROWS FASTER THAN LINEAR in L"))
    return "\n".join(out)


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    text, errors = summarize_bench(argv[1])
    print(text)
    if len(argv) == 3:
        print()
        print(summarize_rss(argv[2]))
    if errors:
        print()
        print("FAILED benchmarks (%d):" % len(errors))
        for name, message in sorted(errors.items()):
            print("  %s: %s" % (name, message))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
