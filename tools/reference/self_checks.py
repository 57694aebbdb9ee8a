"""Checks that guard the reference against its own mistakes.

The fixtures are the ground truth for every numeric test, so the pieces they are built from are
compared with independent formulations: torch's own nn.MultiheadAttention, an explicit im2col
matmul, element-by-element formulas for the sin-cos table, norms and GELUs, central finite
differences for the gradients, and the TypeScript parameter list itself.
"""

import json
import math
import os
import shutil
import subprocess

import torch
import torch.nn as nn

from param_names import model_params, patch_grid
from reference_run import build
from vit_model import Attention, RmsNorm, cross_entropy, sincos2d_table


def check_attention_vs_mha(spec, weights, image):
    """Our fused-qkv attention equals nn.MultiheadAttention with the same q/k/v/proj weights."""
    assert spec["qkvBias"] and not spec["qkNorm"], "pick a case MHA can express"
    model = build(spec, weights)
    D, H = spec["width"], spec["heads"]
    with torch.no_grad():
        x = model.blocks[0].norm1(model._pos_embed(model.patch_embed(image.double())))
        ours: Attention = model.blocks[0].attn
        out = ours(x)
        mha = nn.MultiheadAttention(D, H, bias=True, batch_first=True).double()
        mha.in_proj_weight.copy_(ours.qkv.weight)  # MHA packs rows q, k, v too
        mha.in_proj_bias.copy_(ours.qkv.bias)
        mha.out_proj.weight.copy_(ours.proj.weight)
        mha.out_proj.bias.copy_(ours.proj.bias)
        ref, ref_w = mha(x, x, x, need_weights=True, average_attn_weights=False)
    d_out = (out - ref).abs().max().item()
    d_w = (ours.last_attn - ref_w).abs().max().item()
    assert d_out < 1e-12 and d_w < 1e-12, (d_out, d_w)
    return {"output_max_abs_diff": d_out, "probs_max_abs_diff": d_w}


def check_patch_embed_im2col(spec, weights, image):
    """Conv2d patch embedding == im2col (patches row-major, features C, ph, pw) @ W^T + b."""
    model = build(spec, weights)
    B, C, Hh, Ww = image.shape
    ph, pw = spec["patch"]["height"], spec["patch"]["width"]
    rows, cols = patch_grid(spec)
    img = image.double()
    cols_ = img.reshape(B, C, rows, ph, cols, pw).permute(0, 2, 4, 1, 3, 5)
    cols_ = cols_.reshape(B, rows * cols, C * ph * pw)
    w = weights["patch_embed.proj.weight"].double().reshape(spec["width"], -1)
    ref = cols_ @ w.T + weights["patch_embed.proj.bias"].double()
    with torch.no_grad():
        ours = model.patch_embed(img)
    d = (ours - ref).abs().max().item()
    assert d < 1e-12, d
    return {"max_abs_diff": d}


def check_elementwise_formulas():
    """Sin-cos table, LayerNorm, RmsNorm and both GELUs against scalar math formulas."""
    rows, cols, dim = 3, 5, 16
    table = sincos2d_table(rows, cols, dim)
    q = dim // 4
    from vit_model import SINCOS_DENOM_MINUS_ONE

    den = q - 1 if SINCOS_DENOM_MINUS_ONE else q
    for p in range(rows * cols):
        r, c = divmod(p, cols)  # row-major patch order
        for j in range(q):
            om = 1.0 / 10000.0 ** (j / den)
            want = [math.sin(c * om), math.cos(c * om), math.sin(r * om), math.cos(r * om)]
            for part in range(4):
                assert abs(table[p, part * q + j].item() - want[part]) < 1e-14
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4, 7, generator=g, dtype=torch.float64) * 0.05
    eps = 1e-6
    ln = nn.LayerNorm(7, eps=eps).double()
    rms = RmsNorm(7, eps).double()
    with torch.no_grad():
        ln.weight.copy_(torch.randn(7, generator=g, dtype=torch.float64))
        ln.bias.copy_(torch.randn(7, generator=g, dtype=torch.float64))
        rms.weight.copy_(ln.weight)
        got_ln, got_rms = ln(x), rms(x)
    for i in range(4):
        v = x[i].tolist()
        mu = sum(v) / 7
        var = sum((a - mu) ** 2 for a in v) / 7  # biased variance, as LayerNorm
        ms = sum(a * a for a in v) / 7
        for j in range(7):
            w, b = ln.weight[j].item(), ln.bias[j].item()
            assert abs(got_ln[i, j].item() - ((v[j] - mu) / math.sqrt(var + eps) * w + b)) < 1e-12
            assert abs(got_rms[i, j].item() - v[j] / math.sqrt(ms + eps) * w) < 1e-12
    t = torch.linspace(-5, 5, 41, dtype=torch.float64)
    erf_g, tanh_g = nn.GELU()(t), nn.GELU(approximate="tanh")(t)
    for k, a in enumerate(t.tolist()):
        assert abs(erf_g[k].item() - 0.5 * a * (1 + math.erf(a / math.sqrt(2)))) < 1e-14
        inner = math.sqrt(2 / math.pi) * (a + 0.044715 * a**3)
        assert abs(tanh_g[k].item() - 0.5 * a * (1 + math.tanh(inner))) < 1e-14
    return "ok"


def check_gradients_fd(spec, weights, image, labels, expected, count=6):
    """Central differences (float64, h = 1e-6) on the largest-gradient entries of a few params."""
    names = [n for n, _ in model_params(spec)]
    picks = [names[0], names[len(names) // 3], names[2 * len(names) // 3], names[-2]]
    worst = 0.0

    def loss_with(name, idx, delta):
        w = dict(weights)
        t = w[name].double().clone()
        t.view(-1)[idx] += delta
        w[name] = t
        model = build(spec, {k: v.double() for k, v in w.items()})
        with torch.no_grad():
            return cross_entropy(model(image.double()), labels).item()

    h = 1e-6
    for name in picks:
        g = expected[f"grad.{name}"].reshape(-1)
        for idx in g.abs().argsort(descending=True)[: count // 2].tolist():
            fd = (loss_with(name, idx, h) - loss_with(name, idx, -h)) / (2 * h)
            err = abs(fd - g[idx].item()) / max(abs(g[idx].item()), 1e-3)
            worst = max(worst, err)
    assert worst < 1e-5, worst
    return worst


def check_params_against_ts(root, spec_paths):
    """Python param list == compiler/spec/params.ts for every spec.json (skipped without Node)."""
    npx = shutil.which("npx")
    if npx is None or not os.path.isdir(os.path.join(root, "node_modules", "tsx")):
        return "skipped (no npx/tsx)"
    rel = [os.path.relpath(p, root) for p in spec_paths]
    res = subprocess.run(
        [npx, "tsx", "tools/reference/print_params.ts", *rel],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(res.stdout)
    for path, r in zip(spec_paths, rel):
        with open(path) as f:
            spec = json.load(f)
        mine = [[n, s] for n, s in model_params(spec)]
        assert got[r] == mine, f"{r}: params.ts and param_names.py disagree"
    return "ok"
