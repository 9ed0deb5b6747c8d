#!/usr/bin/env python3
"""Cross-check tmix's MetaFormer models against timm itself (not run in CI).

Needs PyTorch, timm and NumPy (`pip install torch timm numpy`; CPU is enough).
For MODEL (see `scripts/metaformer.py list`) it

  1. writes the seeded weights, config and image of scripts/metaformer.py
     into a work folder (or takes --weights),
  2. builds the model with timm's MetaFormer class -- timm.create_model for
     poolformer_s12, convformer_s18 and caformer_s18; for identityformer_s12
     and randformer_s12, which timm does not register, MetaFormer(...) with
     norm_layers=GroupNorm1NoBias, use_mlp_head=False and nn.Identity /
     an NCHW RandomMixing token mixer (as sail-sg/metaformer defines them),
  3. loads the .safetensors file with load_state_dict(strict=True) and checks
     that timm's state_dict has the generator's names in the generator's
     order with the same shapes,
  4. runs the image through timm in float32 and float64, and compares:
       - timm float64 vs the C++ double reference (tmix-model-check
         --write-reference, when the binary is found): the reference's math;
       - timm float32 vs the reference, with tmix-model-check's bound;
       - with --artifact: tmix-run's logits of a compiled model (the weights
         bound with --weights) vs timm float64.

    python3 scripts/timm_check.py caformer_s18 --image=64
    python3 scripts/timm_check.py poolformer_s12 --image=224 \\
        --artifact=poolformer_s12.so   # from tmix-compile examples/poolformer_s12.mlir

Exit code 0 when every comparison is within --tolerance (relative to
max(1, max |logit|)), 1 otherwise.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import metaformer  # noqa: E402  (the single source of the configurations)

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import timm
    from timm.models import metaformer as timm_metaformer
    from safetensors.torch import load_file
except ImportError as err:  # pragma: no cover
    sys.exit("timm_check.py: %s; install with: pip install torch timm numpy" % err)


class RandomMixing(nn.Module):
    """sail-sg/metaformer's RandomMixing for timm's NCHW stages: a frozen
    [N, N] matrix over the tokens n = h * W + w. Only its `random_matrix`
    parameter matters here; the weights file supplies it."""

    def __init__(self, num_tokens=196, **kwargs):
        super().__init__()
        self.random_matrix = nn.Parameter(
            torch.softmax(torch.rand(num_tokens, num_tokens), dim=-1),
            requires_grad=False)

    def forward(self, x):
        b, c, h, w = x.shape
        y = torch.einsum("mn,bcn->bcm", self.random_matrix, x.reshape(b, c, h * w))
        return y.reshape(b, c, h, w)


def build_timm_model(name, image):
    if name in ("poolformer_s12", "convformer_s18", "caformer_s18"):
        return timm.create_model(name, pretrained=False, num_classes=metaformer.NUM_CLASSES)
    cfg = metaformer.MODELS[name]
    sizes = metaformer.stage_sizes(image)
    mixers = []
    for i, kind in enumerate(cfg["mixers"]):
        if kind == "identity":
            mixers.append(nn.Identity)
        elif kind == "random":
            # timm checks issubclass(token_mixer, Attention): a class, not a partial.
            tokens = sizes[i][0] * sizes[i][1]
            mixers.append(type("RandomMixing%d" % tokens, (RandomMixing,), {
                "__init__": lambda self, n=tokens, **kw: RandomMixing.__init__(self, num_tokens=n, **kw)}))
        else:
            raise SystemExit("timm_check.py: no timm recipe for mixer %s" % kind)
    return timm_metaformer.MetaFormer(
        depths=cfg["depths"], dims=cfg["dims"], token_mixers=mixers,
        norm_layers=timm_metaformer.GroupNorm1NoBias, use_mlp_head=False,
        num_classes=metaformer.NUM_CLASSES)


def max_abs(a):
    return float(np.max(np.abs(a)))


def report(what, got, ref, tolerance):
    err = max_abs(got.astype(np.float64) - ref.astype(np.float64))
    bound = tolerance * max(1.0, max_abs(ref))
    ok = err <= bound
    print("%-44s max abs diff %.3e (bound %.3e) %s" % (what, err, bound, "ok" if ok else "FAIL"))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=list(metaformer.MODELS))
    parser.add_argument("--image", type=metaformer.parse_image, default=(64, 64))
    parser.add_argument("--batch", type=metaformer.positive, default=1)
    parser.add_argument("--seed", type=metaformer.non_negative, default=0)
    parser.add_argument("--weights", help="a .safetensors file (default: write the seeded one)")
    parser.add_argument("--workdir", help="where to write files (default: a temporary folder)")
    parser.add_argument("--model-check", default=os.path.join(ROOT, "build", "bin", "tmix-model-check"),
                        help="tmix-model-check binary for the C++ reference (skipped when absent)")
    parser.add_argument("--tmix-run", default=os.path.join(ROOT, "build", "bin", "tmix-run"))
    parser.add_argument("--artifact", help="a compiled model to run with tmix-run --weights")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix="timm_check.")
    os.makedirs(work, exist_ok=True)
    name = args.model
    stem = os.path.join(work, "%s.%dx%d" % (name, args.image[0], args.image[1]))
    weights = args.weights or stem + ".safetensors"
    if not args.weights:
        metaformer.write_weights(name, weights, args.seed, args.image)
    config = stem + ".json"
    metaformer.write_text(config, json.dumps(metaformer.config_json(name, args.image)))
    image_file = stem + ".image.npy"
    metaformer.write_image(image_file, args.seed, args.image, args.batch)
    print("work folder:", work)

    # Names, order and shapes.
    torch.manual_seed(0)
    model = build_timm_model(name, args.image).eval()
    expected = [(p[0], tuple(p[1])) for p in metaformer.parameters(name, args.image)]
    actual = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    if expected != actual:
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        print("state_dict differs from metaformer.py names:\n  only in metaformer.py: %s\n"
              "  only in timm: %s" % (missing[:20], extra[:20]))
        if not missing and not extra:
            print("  (same entries, different order)")
        return 1
    print("timm state_dict: %d tensors, names, order and shapes as metaformer.py" % len(actual))
    state = load_file(weights)
    model.load_state_dict(state, strict=True)

    image = torch.from_numpy(np.load(image_file))
    with torch.no_grad():
        logits32 = model(image).numpy()
        logits64 = model.double()(image.double()).numpy()
    np.save(stem + ".timm32.npy", logits32)
    print("timm float32 top-5:", np.argsort(-logits32[0])[:5].tolist(),
          "max |logit| %.4f" % max_abs(logits64))
    ok = report("timm float32 vs timm float64", logits32, logits64, args.tolerance)

    if os.path.exists(args.model_check):
        ref_file = stem + ".reference.npy"
        subprocess.run([args.model_check, "--config=" + config, "--weights=" + weights,
                        "--image=" + image_file, "--write-reference=" + ref_file,
                        "--compare=" + stem + ".timm32.npy",
                        "--tolerance=%g" % args.tolerance], check=False)
        reference = np.load(ref_file)  # f32-rounded double reference
        ok &= report("C++ reference (f32-rounded) vs timm float64", reference, logits64,
                     args.tolerance)
    else:
        print("(no %s: C++ reference skipped)" % args.model_check)

    if args.artifact:
        out = stem + ".tmix.npy"
        subprocess.run([args.tmix_run, args.artifact, "--weights=" + weights,
                        "--input=" + image_file, "--output=" + out], check=True)
        ok &= report("tmix (compiled) vs timm float64", np.load(out), logits64, args.tolerance)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
