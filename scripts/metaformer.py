#!/usr/bin/env python3
"""MetaFormer models for tmix: the single source of their configurations.

Five image classifiers of the MetaFormer family, with the parameter names,
shapes and layouts of timm's implementation (timm/models/metaformer.py), so
that a .safetensors file saved from a timm model loads as is:

    poolformer_s12       timm `poolformer_s12`
    convformer_s18       timm `convformer_s18`
    caformer_s18         timm `caformer_s18`
    identityformer_s12   sail-sg/metaformer `identityformer_s12`, named as
                         timm's MetaFormer class would name it
    randformer_s12       sail-sg/metaformer `randformer_s12`, likewise; the
                         frozen token-mixing matrices are
                         stages.{2,3}.blocks.J.token_mixer.random_matrix

Subcommands (plain Python 3, standard library only):

    metaformer.py list
    metaformer.py mlir MODEL [--image=H[xW]] [--batch=B] [-o out.mlir]
    metaformer.py weights MODEL [--seed=N] [--image=H[xW]] -o out.safetensors
    metaformer.py names MODEL [--image=H[xW]]
    metaformer.py config MODEL [--image=H[xW]] [-o out.json]
    metaformer.py flops MODEL [--image=H[xW]] [--batch=B]
    metaformer.py image [--image=H[xW]] [--batch=B] [--seed=N] -o image.npy

`mlir` writes the model as one func.func of the mixer dialect: argument
`image` [B, 3, H, W] (NCHW, like timm), one argument per parameter in timm's
state_dict order carrying `tmix.weight = "<timm name>"`, result `logits`
[B, 1000]. `weights` writes a seeded, deterministic random weight file with
exactly those names and shapes (F32). `config` writes the configuration as
JSON for the double-precision reference of the tests (test/Reference), which
reads it instead of keeping its own copy of depths and widths. `image` writes
a seeded NCHW f32 input as .npy.

Two deliberate timm-isms (see docs/models.md):
  * PoolFormer-S12's head pools first and then applies head.norm (a channel
    LayerNorm, eps 1e-6, with bias) -- timm's order. The original PoolFormer v1
    normalises the map (GroupNorm) and then pools; the two differ, and we match
    timm because the goal is loading timm checkpoints and matching its logits.
  * The MlpHead's LayerNorm (ConvFormer/CAFormer head.fc.norm) is timm's
    `LayerNorm` with eps 1e-6 (the sail-sg original uses nn.LayerNorm, 1e-5).
"""

import argparse
import hashlib
import json
import math
import os
import struct
import sys
import time
from array import array

NUM_CLASSES = 1000
IN_CHANS = 3
MLP_RATIO = 4
SEPCONV_EXPANSION = 2
SEPCONV_KERNEL = 7
SEPCONV_PADDING = 3
ATTENTION_HEAD_DIM = 32
POOL_SIZE = 3
STEM = dict(kernel=7, stride=4, padding=2)
DOWNSAMPLE = dict(kernel=3, stride=2, padding=1)

GENERATOR = "scripts/metaformer.py"


def norm(reduce, eps, bias):
    """A norm layer: `reduce` is "channel" (LayerNorm over C) or "all"
    (over H, W and C per sample: GroupNorm with one group)."""
    return dict(reduce=reduce, eps=eps, bias=bias)


# timm class -> norm. LayerNorm2d/LayerNorm default eps 1e-6; GroupNorm1 is
# nn.GroupNorm's 1e-5; the *NoBias variants set eps 1e-6 and drop the bias.
GROUP_NORM1 = norm("all", 1e-5, True)            # timm GroupNorm1
GROUP_NORM1_NO_BIAS = norm("all", 1e-6, False)   # timm GroupNorm1NoBias
LAYER_NORM_NO_BIAS = norm("channel", 1e-6, False)  # LayerNorm2dNoBias, LayerNormNoBias
LAYER_NORM2D = norm("channel", 1e-6, True)       # timm LayerNorm2d (head.norm)
LAYER_NORM = norm("channel", 1e-6, True)         # timm LayerNorm (MlpHead.norm)


def _v2(depths, mixers, block_norm, head):
    """timm MetaFormer defaults (the v2 models): LayerNorm2dNoBias in the stem
    and before each downsampling conv, StarReLU MLP without bias, no layer
    scale, res scale in stages 3-4 (res_scale_init_values=(None, None, 1, 1))."""
    return dict(
        depths=depths,
        dims=(64, 128, 320, 512),
        mixers=mixers,
        stem_norm=LAYER_NORM_NO_BIAS,
        downsample_norm=LAYER_NORM_NO_BIAS,
        block_norms=block_norm,
        mlp_act="star_relu",
        mlp_bias=False,
        layer_scale=(False,) * 4,
        res_scale=(False, False, True, True),
        head_norm=LAYER_NORM2D,
        head=head,
    )


MODELS = {
    # timm poolformer_s12: downsample_norm=None, GroupNorm1 blocks, GELU MLP
    # with bias, layer scale in every stage, no res scale, Linear head.
    "poolformer_s12": dict(
        depths=(2, 2, 6, 2),
        dims=(64, 128, 320, 512),
        mixers=("pool",) * 4,
        stem_norm=None,
        downsample_norm=None,
        block_norms=(GROUP_NORM1,) * 4,
        mlp_act="gelu",
        mlp_bias=True,
        layer_scale=(True,) * 4,
        res_scale=(False,) * 4,
        head_norm=LAYER_NORM2D,
        head="linear",
    ),
    "convformer_s18": _v2((3, 3, 9, 3), ("sepconv",) * 4,
                          (LAYER_NORM_NO_BIAS,) * 4, "mlp"),
    "caformer_s18": _v2((3, 3, 9, 3),
                        ("sepconv", "sepconv", "attention", "attention"),
                        (LAYER_NORM_NO_BIAS,) * 4, "mlp"),
    # sail-sg identityformer_s12 / randformer_s12 expressed with timm's
    # MetaFormer class: norm_layers=GroupNorm1NoBias (= LayerNormGeneral over
    # (H, W, C), eps 1e-6, no bias), use_mlp_head=False.
    "identityformer_s12": _v2((2, 2, 6, 2), ("identity",) * 4,
                              (GROUP_NORM1_NO_BIAS,) * 4, "linear"),
    "randformer_s12": _v2((2, 2, 6, 2),
                          ("identity", "identity", "random", "random"),
                          (GROUP_NORM1_NO_BIAS,) * 4, "linear"),
}


class UsageError(Exception):
    pass


# ----------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------

def conv_out(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def stage_sizes(image):
    """(H, W) of the maps of the four stages for an input of `image`."""
    h, w = image
    h, w = conv_out(h, **STEM), conv_out(w, **STEM)
    sizes = [(h, w)]
    for _ in range(3):
        h, w = conv_out(h, **DOWNSAMPLE), conv_out(w, **DOWNSAMPLE)
        sizes.append((h, w))
    return sizes


def check_image(image):
    h, w = image
    if h < 1 or w < 1:
        raise UsageError("image size must be positive, got %dx%d" % (h, w))
    if conv_out(h, **STEM) < 1 or conv_out(w, **STEM) < 1:
        raise UsageError("image %dx%d is smaller than the 7x7 stem (need at "
                         "least 3x3)" % (h, w))


def attention_dims(dim):
    heads = max(dim // ATTENTION_HEAD_DIM, 1)
    return heads, heads * ATTENTION_HEAD_DIM


# --depths: blocks per stage instead of the model's (a shallow variant for
# tests that compile many kernels; names and shapes are the model's).
DEPTHS_OVERRIDE = None


def model_config(name):
    try:
        cfg = MODELS[name]
    except KeyError:
        raise UsageError("unknown model '%s'; known: %s"
                         % (name, ", ".join(sorted(MODELS))))
    if DEPTHS_OVERRIDE is None:
        return cfg
    if len(DEPTHS_OVERRIDE) != len(cfg["depths"]):
        raise UsageError("--depths needs %d stages, got %d"
                         % (len(cfg["depths"]), len(DEPTHS_OVERRIDE)))
    return dict(cfg, depths=tuple(DEPTHS_OVERRIDE))


def parse_depths(text):
    try:
        depths = [int(d) for d in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected N,N,N,N, got '%s'" % text)
    if any(d < 1 for d in depths):
        raise argparse.ArgumentTypeError("depths must be >= 1, got '%s'" % text)
    return depths


def parameters(name, image=(224, 224)):
    """[(timm name, shape, kind)] in timm's state_dict order. `kind` selects
    the random distribution of `weights`."""
    cfg = model_config(name)
    check_image(image)
    sizes = stage_sizes(image)
    dims = cfg["dims"]
    out = []

    def add(pname, shape, kind, fan_in=None):
        out.append((pname, tuple(shape), kind, fan_in))

    def add_norm(prefix, n, dim):
        add(prefix + ".weight", (dim,), "norm_weight")
        if n["bias"]:
            add(prefix + ".bias", (dim,), "bias")

    d0 = dims[0]
    add("stem.conv.weight", (d0, IN_CHANS, STEM["kernel"], STEM["kernel"]),
        "weight", IN_CHANS * STEM["kernel"] ** 2)
    add("stem.conv.bias", (d0,), "bias")
    if cfg["stem_norm"]:
        add_norm("stem.norm", cfg["stem_norm"], d0)
    for i, dim in enumerate(dims):
        stage = "stages.%d" % i
        if i > 0:
            prev = dims[i - 1]
            if cfg["downsample_norm"]:
                add_norm(stage + ".downsample.norm", cfg["downsample_norm"], prev)
            k = DOWNSAMPLE["kernel"]
            add(stage + ".downsample.conv.weight", (dim, prev, k, k), "weight",
                prev * k * k)
            add(stage + ".downsample.conv.bias", (dim,), "bias")
        mixer = cfg["mixers"][i]
        # timm runs attention stages on [B, N, C] with nn.Linear MLPs and all
        # other stages on NCHW maps with 1x1 Conv2d MLPs.
        conv_mlp = mixer != "attention"
        hidden = MLP_RATIO * dim
        for j in range(cfg["depths"][i]):
            p = "%s.blocks.%d." % (stage, j)
            add_norm(p + "norm1", cfg["block_norms"][i], dim)
            if mixer == "sepconv":
                mid = SEPCONV_EXPANSION * dim
                k = SEPCONV_KERNEL
                add(p + "token_mixer.pwconv1.weight", (mid, dim, 1, 1), "weight", dim)
                add(p + "token_mixer.act1.scale", (1,), "star_scale")
                add(p + "token_mixer.act1.bias", (1,), "star_bias")
                add(p + "token_mixer.dwconv.weight", (mid, 1, k, k), "weight", k * k)
                add(p + "token_mixer.pwconv2.weight", (dim, mid, 1, 1), "weight", mid)
            elif mixer == "attention":
                _, adim = attention_dims(dim)
                add(p + "token_mixer.qkv.weight", (3 * adim, dim), "weight", dim)
                add(p + "token_mixer.proj.weight", (dim, adim), "weight", adim)
            elif mixer == "random":
                n = sizes[i][0] * sizes[i][1]
                add(p + "token_mixer.random_matrix", (n, n), "random_matrix")
            if cfg["layer_scale"][i]:
                add(p + "layer_scale1.scale", (dim,), "scale")
            if cfg["res_scale"][i]:
                add(p + "res_scale1.scale", (dim,), "scale")
            add_norm(p + "norm2", cfg["block_norms"][i], dim)
            tail = (1, 1) if conv_mlp else ()
            add(p + "mlp.fc1.weight", (hidden, dim) + tail, "weight", dim)
            if cfg["mlp_bias"]:
                add(p + "mlp.fc1.bias", (hidden,), "bias")
            if cfg["mlp_act"] == "star_relu":
                add(p + "mlp.act.scale", (1,), "star_scale")
                add(p + "mlp.act.bias", (1,), "star_bias")
            add(p + "mlp.fc2.weight", (dim, hidden) + tail, "weight", hidden)
            if cfg["mlp_bias"]:
                add(p + "mlp.fc2.bias", (dim,), "bias")
            if cfg["layer_scale"][i]:
                add(p + "layer_scale2.scale", (dim,), "scale")
            if cfg["res_scale"][i]:
                add(p + "res_scale2.scale", (dim,), "scale")
    dl = dims[-1]
    add_norm("head.norm", cfg["head_norm"], dl)
    if cfg["head"] == "linear":
        add("head.fc.weight", (NUM_CLASSES, dl), "weight", dl)
        add("head.fc.bias", (NUM_CLASSES,), "bias")
    else:
        hidden = MLP_RATIO * dl
        add("head.fc.fc1.weight", (hidden, dl), "weight", dl)
        add("head.fc.fc1.bias", (hidden,), "bias")
        add_norm("head.fc.norm", LAYER_NORM, hidden)
        add("head.fc.fc2.weight", (NUM_CLASSES, hidden), "weight", hidden)
        add("head.fc.fc2.bias", (NUM_CLASSES,), "bias")
    return out


def model_flops(name, image=(224, 224), batch=1):
    """FLOPs of one forward pass (2 per multiply-add) of the convolutions,
    Linear layers, token mixing and attention products -- the usual way
    model FLOPs are quoted (fvcore/timm count MACs of those ops; norms,
    activations, pooling and residuals are not counted)."""
    cfg = model_config(name)
    sizes = stage_sizes(image)
    macs = 0
    h, w = sizes[0]
    k = STEM["kernel"]
    macs += h * w * cfg["dims"][0] * IN_CHANS * k * k
    prev = cfg["dims"][0]
    for i, (depth, dim) in enumerate(zip(cfg["depths"], cfg["dims"])):
        h, w = sizes[i]
        n = h * w
        if i > 0:
            k = DOWNSAMPLE["kernel"]
            macs += n * dim * prev * k * k
        prev = dim
        mixer = cfg["mixers"][i]
        per_block = 2 * n * dim * dim * MLP_RATIO  # fc1 + fc2
        if mixer == "sepconv":
            mid = SEPCONV_EXPANSION * dim
            per_block += 2 * n * dim * mid + n * mid * SEPCONV_KERNEL ** 2
        elif mixer == "attention":
            heads, adim = attention_dims(dim)
            per_block += n * dim * 3 * adim + n * adim * dim  # qkv, proj
            per_block += 2 * n * n * adim                     # QK^T, PV
        elif mixer == "random":
            per_block += n * n * dim
        macs += depth * per_block
    last = cfg["dims"][-1]
    if cfg["head"] == "mlp":
        hidden = MLP_RATIO * last
        macs += last * hidden + hidden * NUM_CLASSES
    else:
        macs += last * NUM_CLASSES
    return 2 * batch * macs


def config_json(name, image):
    """The configuration the C++ reference reads (test/Reference/MetaFormer)."""
    cfg = model_config(name)
    check_image(image)
    sizes = stage_sizes(image)
    stages = []
    for i, dim in enumerate(cfg["dims"]):
        mixer = cfg["mixers"][i]
        stages.append(dict(
            depth=cfg["depths"][i],
            dim=dim,
            size=list(sizes[i]),
            mixer=mixer,
            norm=cfg["block_norms"][i],
            mlp_act=cfg["mlp_act"],
            mlp_bias=cfg["mlp_bias"],
            mlp_hidden=MLP_RATIO * dim,
            layer_scale=cfg["layer_scale"][i],
            res_scale=cfg["res_scale"][i],
            downsample=None if i == 0 else dict(DOWNSAMPLE, norm=cfg["downsample_norm"]),
            heads=attention_dims(dim)[0] if mixer == "attention" else 0,
        ))
    return dict(
        model=name,
        generator=GENERATOR,
        image=list(image),
        in_chans=IN_CHANS,
        num_classes=NUM_CLASSES,
        stem=dict(STEM, norm=cfg["stem_norm"]),
        stages=stages,
        pool_size=POOL_SIZE,
        sepconv=dict(expansion=SEPCONV_EXPANSION, kernel=SEPCONV_KERNEL,
                     padding=SEPCONV_PADDING),
        attention_head_dim=ATTENTION_HEAD_DIM,
        head=dict(norm=cfg["head_norm"], kind=cfg["head"],
                  mlp_hidden=MLP_RATIO * cfg["dims"][-1], mlp_norm=LAYER_NORM),
    )


# ----------------------------------------------------------------------------
# MLIR
# ----------------------------------------------------------------------------

def ttype(shape):
    return "tensor<%sxf32>" % "x".join(str(d) for d in shape)


def fmt_eps(eps):
    return "%.6e : f64" % eps


def fmt_axes(axes):
    return "array<i64: %s>" % ", ".join(str(a) for a in axes)


class Emitter:
    def __init__(self):
        self.lines = []

    def emit(self, indent, text):
        self.lines.append(("  " * indent + text).rstrip())


def generate_mlir(name, image=(224, 224), batch=1):
    cfg = model_config(name)
    check_image(image)
    if batch < 1:
        raise UsageError("batch must be positive, got %d" % batch)
    params = parameters(name, image)
    shapes = {p[0]: p[1] for p in params}
    sizes = stage_sizes(image)
    dims = cfg["dims"]
    b = batch
    h, w = image
    e = Emitter()

    def arg(pname):
        if pname not in shapes:
            raise AssertionError("no parameter " + pname)
        return "%" + pname

    def layer_norm(ind, out, x, shape, prefix, n, axes):
        operands = [x, arg(prefix + ".weight")]
        types = [ttype(shape), ttype(shapes[prefix + ".weight"])]
        if n["bias"]:
            operands.append(arg(prefix + ".bias"))
            types.append(ttype(shapes[prefix + ".bias"]))
        e.emit(ind, "%s = mixer.layer_norm %s {axes = %s, epsilon = %s}"
               % (out, ", ".join(operands), fmt_axes(axes), fmt_eps(n["eps"])))
        e.emit(ind + 2, ": (%s) -> %s" % (", ".join(types), ttype(shape)))

    def norm_axes(n, rank):
        return list(range(1, rank)) if n["reduce"] == "all" else [rank - 1]

    def conv(ind, out, x, in_shape, out_shape, prefix, k):
        wname, bname = prefix + ".weight", prefix + ".bias"
        e.emit(ind, "%s = mixer.conv2d %s, %s, %s {stride = %s, padding = %s}"
               % (out, x, arg(wname), arg(bname),
                  fmt_axes([k["stride"]] * 2), fmt_axes([k["padding"]] * 2)))
        e.emit(ind + 2, ": (%s, %s, %s) -> %s"
               % (ttype(in_shape), ttype(shapes[wname]), ttype(shapes[bname]),
                  ttype(out_shape)))

    # Header and signature.
    e.emit(0, "// %s: MetaFormer image classifier, %dx%d input, batch %d, f32."
           % (name, h, w, b))
    e.emit(0, "//")
    e.emit(0, "// GENERATED by %s -- do not edit. Regenerate with" % GENERATOR)
    image_opt = "" if (h, w) == (224, 224) else " --image=%dx%d" % (h, w)
    batch_opt = "" if b == 1 else " --batch=%d" % b
    depths_opt = "" if DEPTHS_OVERRIDE is None else (
        " --depths=%s" % ",".join(str(d) for d in DEPTHS_OVERRIDE))
    target = ("examples/%s.mlir" % name) if not (image_opt or batch_opt or depths_opt) else "OUT.mlir"
    e.emit(0, "//   python3 %s mlir %s%s%s%s -o %s"
           % (GENERATOR, name, image_opt, depths_opt, batch_opt, target))
    e.emit(0, "//")
    e.emit(0, "// One argument per parameter, with timm's name "
           "(timm/models/metaformer.py) in its")
    e.emit(0, "// state_dict order; a timm .safetensors file binds as is. "
           "Seeded random weights,")
    e.emit(0, "// an input, compiling and running (see docs/models.md):")
    e.emit(0, "//   python3 %s weights %s%s%s -o %s.safetensors"
           % (GENERATOR, name, image_opt, depths_opt, name))
    e.emit(0, "//   python3 %s image%s%s -o image.npy" % (GENERATOR, image_opt, batch_opt))
    e.emit(0, "//   tmix-compile %s -o lib%s.so" % (target, name))
    e.emit(0, "//   tmix-run lib%s.so --weights=%s.safetensors --input=image.npy "
           "--output=logits.npy" % (name, name))
    if name == "poolformer_s12":
        e.emit(0, "//")
        e.emit(0, "// Head in timm's order: global average pool, then head.norm "
               "(LayerNorm over C,")
        e.emit(0, "// eps 1e-6, bias), then head.fc. The original PoolFormer v1 "
               "normalised the map")
        e.emit(0, "// (GroupNorm) before pooling; timm pools first, and we "
               "match timm's logits.")
    e.emit(0, "")
    e.emit(0, "func.func @%s(" % name)
    sig = ['%%image: %s {tmix.name = "image"}' % ttype((b, IN_CHANS, h, w))]
    for pname, shape, _, _ in params:
        sig.append('%%%s: %s {tmix.weight = "%s"}' % (pname, ttype(shape), pname))
    for i, s in enumerate(sig):
        e.emit(2, s + ("," if i + 1 < len(sig) else ")"))
    e.emit(2, '-> (%s {tmix.name = "logits"}) {' % ttype((b, NUM_CLASSES)))

    # NCHW image -> NHWC.
    nhwc = (b, h, w, IN_CHANS)
    e.emit(1, "%%image_init = tensor.empty() : %s" % ttype(nhwc))
    e.emit(1, "%%image_nhwc = linalg.transpose ins(%%image : %s) outs(%%image_init : %s) permutation = [0, 2, 3, 1]"
           % (ttype((b, IN_CHANS, h, w)), ttype(nhwc)))

    # Stem.
    shape = (b,) + sizes[0] + (dims[0],)
    e.emit(1, "")
    e.emit(1, "// Stem: conv %dx%d stride %d padding %d%s."
           % (STEM["kernel"], STEM["kernel"], STEM["stride"], STEM["padding"],
              ", then norm" if cfg["stem_norm"] else ""))
    conv(1, "%stem", "%image_nhwc", nhwc, shape, "stem.conv", STEM)
    x = "%stem"
    if cfg["stem_norm"]:
        layer_norm(1, "%stem_norm", x, shape, "stem.norm", cfg["stem_norm"],
                   norm_axes(cfg["stem_norm"], 4))
        x = "%stem_norm"

    for i, dim in enumerate(dims):
        mixer = cfg["mixers"][i]
        st = "stages.%d" % i
        if i > 0:
            prev_shape = shape
            shape = (b,) + sizes[i] + (dim,)
            e.emit(1, "")
            e.emit(1, "// Stage %d: downsample%s, conv %dx%d stride %d padding %d."
                   % (i + 1, " norm" if cfg["downsample_norm"] else "",
                      DOWNSAMPLE["kernel"], DOWNSAMPLE["kernel"],
                      DOWNSAMPLE["stride"], DOWNSAMPLE["padding"]))
            if cfg["downsample_norm"]:
                out = "%%s%d_down_norm" % i
                layer_norm(1, out, x, prev_shape, st + ".downsample.norm",
                           cfg["downsample_norm"],
                           norm_axes(cfg["downsample_norm"], 4))
                x = out
            out = "%%s%d_down" % i
            conv(1, out, x, prev_shape, shape, st + ".downsample.conv", DOWNSAMPLE)
            x = out
        else:
            e.emit(1, "")
        e.emit(1, "// Stage %d: %d blocks, %s token mixer, %d channels, %dx%d map."
               % (i + 1, cfg["depths"][i], mixer, dim, sizes[i][0], sizes[i][1]))
        n = cfg["block_norms"][i]
        axes = norm_axes(n, 4)
        ty = ttype(shape)
        for j in range(cfg["depths"][i]):
            p = "%s.blocks.%d." % (st, j)
            v = "%%s%db%d" % (i, j)
            types, groups = [ty], ""
            if cfg["layer_scale"][i]:
                groups += " layer_scale(%s, %s)" % (arg(p + "layer_scale1.scale"),
                                                    arg(p + "layer_scale2.scale"))
                types += [ttype((dim,))] * 2
            if cfg["res_scale"][i]:
                groups += " res_scale(%s, %s)" % (arg(p + "res_scale1.scale"),
                                                  arg(p + "res_scale2.scale"))
                types += [ttype((dim,))] * 2
            e.emit(1, "%s = mixer.block %s%s" % (v, x, groups))
            e.emit(3, ": (%s) -> %s" % (", ".join(types), ty))
            # Token mixer region.
            e.emit(1, "token_mixer {")
            a = v + "_x"
            e.emit(1, "^bb0(%s: %s):" % (a, ty))
            layer_norm(2, v + "_n1", a, shape, p + "norm1", n, axes)
            t = v + "_tm"
            if mixer == "pool":
                e.emit(2, "%s = mixer.pool %s {kernel_size = %d} : (%s) -> %s"
                       % (t, v + "_n1", POOL_SIZE, ty, ty))
            elif mixer == "identity":
                e.emit(2, "%s = mixer.identity %s : (%s) -> %s" % (t, v + "_n1", ty, ty))
            elif mixer == "random":
                m = p + "token_mixer.random_matrix"
                e.emit(2, "%s = mixer.random_mix %s, %s : (%s, %s) -> %s"
                       % (t, v + "_n1", arg(m), ty, ttype(shapes[m]), ty))
            elif mixer == "sepconv":
                q = p + "token_mixer."
                names = ["pwconv1.weight", "act1.scale", "act1.bias",
                         "dwconv.weight", "pwconv2.weight"]
                e.emit(2, "%s = mixer.sepconv %s, %s {kernel_size = %d, padding = %d}"
                       % (t, v + "_n1", ", ".join(arg(q + s) for s in names),
                          SEPCONV_KERNEL, SEPCONV_PADDING))
                e.emit(4, ": (%s) -> %s"
                       % (", ".join([ty] + [ttype(shapes[q + s]) for s in names]), ty))
            elif mixer == "attention":
                q = p + "token_mixer."
                e.emit(2, "%s = mixer.self_attention %s, %s, %s {head_dim = %d}"
                       % (t, v + "_n1", arg(q + "qkv.weight"), arg(q + "proj.weight"),
                          ATTENTION_HEAD_DIM))
                e.emit(4, ": (%s, %s, %s) -> %s"
                       % (ty, ttype(shapes[q + "qkv.weight"]),
                          ttype(shapes[q + "proj.weight"]), ty))
            else:
                raise AssertionError(mixer)
            e.emit(2, "mixer.yield %s : %s" % (t, ty))
            # MLP region.
            e.emit(1, "} mlp {")
            a = v + "_y"
            e.emit(1, "^bb0(%s: %s):" % (a, ty))
            layer_norm(2, v + "_n2", a, shape, p + "norm2", n, axes)
            f = v + "_mlp"
            ops = [v + "_n2", arg(p + "mlp.fc1.weight"), arg(p + "mlp.fc2.weight")]
            tys = [ty, ttype(shapes[p + "mlp.fc1.weight"]),
                   ttype(shapes[p + "mlp.fc2.weight"])]
            if cfg["mlp_act"] == "star_relu":
                act = "star_relu(%s, %s)" % (arg(p + "mlp.act.scale"),
                                             arg(p + "mlp.act.bias"))
                tys += [ttype((1,))] * 2
            else:
                act = cfg["mlp_act"]
            bias = ""
            if cfg["mlp_bias"]:
                bias = " bias(%s, %s)" % (arg(p + "mlp.fc1.bias"), arg(p + "mlp.fc2.bias"))
                tys += [ttype(shapes[p + "mlp.fc1.bias"]), ttype(shapes[p + "mlp.fc2.bias"])]
            e.emit(2, "%s = mixer.mlp %s activation = %s%s" % (f, ", ".join(ops), act, bias))
            e.emit(4, ": (%s) -> %s" % (", ".join(tys), ty))
            e.emit(2, "mixer.yield %s : %s" % (f, ty))
            e.emit(1, "}")
            x = v

    # Head.
    dl = dims[-1]
    e.emit(1, "")
    if cfg["head"] == "linear":
        e.emit(1, "// Head: global average pool, head.norm (LayerNorm over C), "
               "head.fc (Linear).")
    else:
        e.emit(1, "// Head: global average pool, head.norm (LayerNorm over C), "
               "head.fc (MlpHead: fc1, SquaredReLU, LayerNorm, fc2).")
    pooled = (b, dl)
    e.emit(1, "%%pooled = mixer.global_avg_pool %s : (%s) -> %s"
           % (x, ttype(shape), ttype(pooled)))
    layer_norm(1, "%head_norm", "%pooled", pooled, "head.norm", cfg["head_norm"], [1])
    logits = (b, NUM_CLASSES)
    if cfg["head"] == "linear":
        e.emit(1, "%%logits = mixer.linear %%head_norm, %s, %s : (%s, %s, %s) -> %s"
               % (arg("head.fc.weight"), arg("head.fc.bias"), ttype(pooled),
                  ttype(shapes["head.fc.weight"]), ttype(shapes["head.fc.bias"]),
                  ttype(logits)))
    else:
        names = ["head.fc.fc1.weight", "head.fc.fc1.bias", "head.fc.norm.weight",
                 "head.fc.norm.bias", "head.fc.fc2.weight", "head.fc.fc2.bias"]
        e.emit(1, "%%logits = mixer.mlp_head %%head_norm, %s {epsilon = %s}"
               % (", ".join(arg(s) for s in names), fmt_eps(LAYER_NORM["eps"])))
        e.emit(3, ": (%s) -> %s"
               % (", ".join([ttype(pooled)] + [ttype(shapes[s]) for s in names]),
                  ttype(logits)))
    e.emit(1, "return %%logits : %s" % ttype(logits))
    e.emit(0, "}")
    return "\n".join(e.lines) + "\n"


# ----------------------------------------------------------------------------
# Seeded random values
# ----------------------------------------------------------------------------

def _words(tag, count):
    """`count` little-endian uint32 words of SHAKE-256(tag)."""
    words = array("I")
    if words.itemsize != 4:
        raise RuntimeError("array('I') is not 32-bit on this platform")
    words.frombytes(hashlib.shake_256(tag.encode()).digest(4 * count))
    if sys.byteorder != "little":
        words.byteswap()
    return words


def uniform01(tag, count):
    """`count` deterministic uniform values in [0, 1) (24-bit resolution) for
    the stream named `tag`: SHAKE-256 of the tag, read as little-endian uint32
    words, top 24 bits. Fully specified, fast (C), independent of Python's
    `random` and of the order in which streams are drawn."""
    scale = 1.0 / (1 << 24)
    return [(r >> 8) * scale for r in _words(tag, count)]


def uniform(tag, count, lo, hi):
    """uniform(lo, hi) as f32: lo + (hi - lo) * uniform01(tag), in one pass."""
    step = (hi - lo) / (1 << 24)
    return array("f", [lo + step * (r >> 8) for r in _words(tag, count)])


def random_values(seed, pname, shape, kind, fan_in):
    count = 1
    for d in shape:
        count *= d
    tag = "tmix-metaformer/%d/%s" % (seed, pname)
    if kind == "weight":
        a = math.sqrt(3.0 / fan_in)  # uniform(-a, a) has variance 1/fan_in
        return uniform(tag, count, -a, a)
    if kind == "bias":
        return uniform(tag, count, -0.1, 0.1)
    if kind == "norm_weight":
        return uniform(tag, count, 0.8, 1.2)
    if kind == "scale":
        return uniform(tag, count, 0.5, 1.5)
    if kind == "star_scale":
        return uniform(tag, count, 0.8, 1.2)
    if kind == "star_bias":
        return uniform(tag, count, -0.2, 0.2)
    if kind == "random_matrix":
        # Row-wise softmax of uniform(0, 1) noise, as RandomMixing creates it.
        n = shape[0]
        noise = uniform01(tag, count)
        out = array("f")
        for r in range(n):
            row = noise[r * n:(r + 1) * n]
            top = max(row)
            ex = [math.exp(v - top) for v in row]
            total = sum(ex)
            out.extend(v / total for v in ex)
        return out
    raise AssertionError(kind)


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------

def write_atomically(path, chunks):
    """Writes the byte strings `chunks` to `path` ("-": standard output).
    A regular file (or a new one) is written through a temporary file in the
    same folder and renamed into place, so that a failure never leaves a
    half-written file; anything else that exists (a pipe, a device such as
    /dev/stdout) is written in place, never replaced."""
    if path == "-":
        out = sys.stdout.buffer
        for c in chunks:
            out.write(c)
        out.flush()
        return
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "wb") as f:
            for c in chunks:
                f.write(c)
        return
    target = os.path.realpath(path)  # replace a symlink's target, not the link
    folder = os.path.dirname(target)
    tmp = os.path.join(folder, ".%s.%d.tmp" % (os.path.basename(target), os.getpid()))
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
        os.replace(tmp, target)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise UsageError("cannot write %s: %s" % (path, err.strerror or err))
        raise


def le_bytes(values):
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def safetensors_chunks(entries, metadata):
    """safetensors format: u64 LE header length, JSON header (padded with
    spaces to a multiple of 8), then the tensors' bytes back to back, in
    header order. `entries` is [(name, shape, make_values)]; each tensor's
    values are made only when its bytes are written."""
    header = {"__metadata__": metadata}
    offset = 0
    for pname, shape, _ in entries:
        size = 4 * math.prod(shape)
        header[pname] = {"dtype": "F32", "shape": list(shape),
                         "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    yield struct.pack("<Q", len(text))
    yield text
    for pname, shape, make_values in entries:
        values = make_values()
        if len(values) != math.prod(shape):
            raise AssertionError("%s: %d values for shape %s" % (pname, len(values), shape))
        yield le_bytes(values)


def write_weights(name, path, seed, image):
    params = parameters(name, image)
    entries = [(pname, shape,
                lambda p=pname, s=shape, k=kind, f=fan_in: random_values(seed, p, s, k, f))
               for pname, shape, kind, fan_in in params]
    metadata = {
        "format": "pt",
        "generator": "%s weights %s --seed=%d --image=%dx%d"
                     % (GENERATOR, name, seed, image[0], image[1]),
        "model": name,
    }
    write_atomically(path, safetensors_chunks(entries, metadata))
    return sum(math.prod(p[1]) for p in params)


def npy_chunks(values, shape):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % d for d in shape) if len(shape) != 1 else "%d," % shape[0])
    header = header.strip()
    total = 10 + len(header) + 1
    header += " " * (-total % 64) + "\n"
    yield b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    yield le_bytes(values)


def write_image(path, seed, image, batch):
    shape = (batch, IN_CHANS, image[0], image[1])
    count = batch * IN_CHANS * image[0] * image[1]
    # Roughly what a normalised photo looks like to the stem: mean 0, unit-ish
    # variance.
    values = uniform("tmix-metaformer-image/%d" % seed, count, -1.7, 1.7)
    write_atomically(path, npy_chunks(values, shape))


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------

def parse_image(text):
    try:
        parts = text.lower().split("x")
        if len(parts) == 1:
            h = w = int(parts[0])
        elif len(parts) == 2:
            h, w = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError("expected H or HxW, got '%s'" % text)
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError("image size must be positive, got '%s'" % text)
    return (h, w)


def positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer, got '%s'" % text)
    if v < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got '%s'" % text)
    return v


def non_negative(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer, got '%s'" % text)
    if v < 0:
        raise argparse.ArgumentTypeError("expected a non-negative integer, got '%s'" % text)
    return v


def write_text(path, text):
    write_atomically(path, [text.encode()])


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="metaformer.py",
        description="MetaFormer models for tmix: MLIR generator, seeded "
                    "weights, names and configs.")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_cmd(cmd, help_text):
        p = sub.add_parser(cmd, help=help_text)
        p.add_argument("model", help="one of: " + ", ".join(MODELS))
        p.add_argument("--image", type=parse_image, default=(224, 224),
                       help="input size H or HxW (default 224)")
        p.add_argument("--depths", type=parse_depths, default=None,
                       help="blocks per stage, e.g. 1,1,1,1, instead of the "
                            "model's (a shallow variant for tests)")
        return p

    sub.add_parser("list", help="print the model names")
    p = model_cmd("mlir", "write the model as mixer-dialect MLIR")
    p.add_argument("--batch", type=positive, default=1)
    p.add_argument("-o", "--output", default="-")
    p = model_cmd("weights", "write seeded random weights (.safetensors)")
    p.add_argument("--seed", type=non_negative, default=0)
    p.add_argument("-o", "--output", required=True)
    model_cmd("names", "print parameter names and shapes")
    p = model_cmd("config", "write the configuration as JSON")
    p.add_argument("-o", "--output", default="-")
    p = model_cmd("flops", "print the FLOPs of one forward pass (2 per MAC)")
    p.add_argument("--batch", type=positive, default=1)
    p = sub.add_parser("image", help="write a seeded NCHW f32 input (.npy)")
    p.add_argument("--image", type=parse_image, default=(224, 224))
    p.add_argument("--batch", type=positive, default=1)
    p.add_argument("--seed", type=non_negative, default=0)
    p.add_argument("-o", "--output", required=True)

    args = parser.parse_args(argv)
    global DEPTHS_OVERRIDE
    DEPTHS_OVERRIDE = getattr(args, "depths", None)
    try:
        if args.command == "list":
            for m in MODELS:
                print(m)
        elif args.command == "mlir":
            write_text(args.output, generate_mlir(args.model, args.image, args.batch))
        elif args.command == "weights":
            start = time.time()
            count = write_weights(args.model, args.output, args.seed, args.image)
            print("%s: %d parameters (%.1f MB) in %.1f s"
                  % (args.output, count, 4e-6 * count, time.time() - start),
                  file=sys.stderr)
        elif args.command == "names":
            for pname, shape, _, _ in parameters(args.model, args.image):
                print("%s %s" % (pname, "x".join(str(d) for d in shape)))
        elif args.command == "config":
            write_text(args.output,
                       json.dumps(config_json(args.model, args.image), indent=1) + "\n")
        elif args.command == "flops":
            check_image(args.image)
            print(model_flops(args.model, args.image, args.batch))
        elif args.command == "image":
            check_image(args.image)
            write_image(args.output, args.seed, args.image, args.batch)
    except UsageError as err:
        print("metaformer.py: error: %s" % err, file=sys.stderr)
        return 1
    except OSError as err:
        print("metaformer.py: error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
