"""The reference Vision Transformer, assembled from torch.nn pieces the way timm builds it.

Module and parameter names reproduce timm's VisionTransformer state_dict (see param_names.py);
the forward pass follows timm's `forward_features` / `forward_head`, with the two extensions the
Spec allows beyond timm's class: Vaswani post-norm blocks (x = norm1(x + attn(x))) and the
big_vision 2-D sin-cos position table.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from param_names import patch_grid, prefix_tokens


class RmsNorm(nn.Module):
    """timm's RmsNorm (torch 1.13 has no nn.RMSNorm): x * rsqrt(mean(x^2) + eps) * weight."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def make_norm(kind, dim, eps):
    if kind == "layernorm":
        return nn.LayerNorm(dim, eps=eps)
    assert kind == "rmsnorm"
    return RmsNorm(dim, eps)


def make_act(activation):
    # swiglu uses SiLU on the gate branch (timm SwiGLU's default act_layer).
    return {
        "gelu": lambda: nn.GELU(),
        "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
        "relu": lambda: nn.ReLU(),
        "swiglu": lambda: nn.SiLU(),
    }[activation]()


class Attention(nn.Module):
    """timm Attention: fused qkv (rows q, k, v; heads contiguous in each), optional per-head q/k norm."""

    def __init__(self, dim, heads, qkv_bias, qk_norm, norm_kind, eps):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.q_norm = make_norm(norm_kind, self.head_dim, eps) if qk_norm else nn.Identity()
        self.k_norm = make_norm(norm_kind, self.head_dim, eps) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)
        self.last_attn = None  # softmax probabilities of the last forward, [B, heads, N, N]

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        self.last_attn = attn
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    """timm Mlp: fc1 -> act -> fc2."""

    def __init__(self, dim, hidden, activation):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = make_act(activation)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwiGLU(nn.Module):
    """timm SwiGLU: fc2(silu(fc1_g(x)) * fc1_x(x))."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1_g = nn.Linear(dim, hidden)
        self.fc1_x = nn.Linear(dim, hidden)
        self.act = nn.SiLU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1_g(x)) * self.fc1_x(x))


class LayerScale(nn.Module):
    """timm LayerScale: x * gamma (per channel)."""

    def __init__(self, dim, init):
        super().__init__()
        self.gamma = nn.Parameter(init * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Block(nn.Module):
    def __init__(self, s, activation, eps):
        super().__init__()
        D, kind = s["width"], s["norm"]["kind"]
        self.post = s["norm"]["placement"] == "post"
        self.norm1 = make_norm(kind, D, eps)
        self.attn = Attention(D, s["heads"], s["qkvBias"], s["qkNorm"], kind, eps)
        ls = s["layerScale"]
        self.ls1 = LayerScale(D, ls) if ls is not None else nn.Identity()
        self.norm2 = make_norm(kind, D, eps)
        hidden = s["mlp"]["hidden"]
        self.mlp = SwiGLU(D, hidden) if activation == "swiglu" else Mlp(D, hidden, activation)
        self.ls2 = LayerScale(D, ls) if ls is not None else nn.Identity()

    def forward(self, x):
        if self.post:  # Vaswani et al.: normalize after the residual sum
            x = self.norm1(x + self.ls1(self.attn(x)))
            return self.norm2(x + self.ls2(self.mlp(x)))
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


# Denominator of the sin-cos frequency exponent. big_vision's posemb_sincos_2d (the table the Spec
# names) uses omega = 1 / 10000^(arange(D/4) / (D/4 - 1)); MoCo v3 and timm's freq_bands divide by
# D/4 instead. We follow big_vision, as compiler/ir/consts.ts does; the flag keeps the choice
# visible (see README.md).
SINCOS_DENOM_MINUS_ONE = True


def sincos2d_table(rows, cols, dim, dtype=torch.float64, minus_one=None):
    """[rows*cols, dim]: concat(sin(x w), cos(x w), sin(y w), cos(y w)), patches row-major."""
    assert dim % 4 == 0
    quarter = dim // 4
    minus_one = SINCOS_DENOM_MINUS_ONE if minus_one is None else minus_one
    denom = quarter - 1 if minus_one else quarter
    omega = 1.0 / (10000.0 ** (torch.arange(quarter, dtype=dtype) / denom))
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=dtype), torch.arange(cols, dtype=dtype), indexing="ij"
    )
    xw = x.reshape(-1, 1) * omega.reshape(1, -1)
    yw = y.reshape(-1, 1) * omega.reshape(1, -1)
    return torch.cat([torch.sin(xw), torch.cos(xw), torch.sin(yw), torch.cos(yw)], dim=1)


class PatchEmbed(nn.Module):
    def __init__(self, s):
        super().__init__()
        ph, pw = s["patch"]["height"], s["patch"]["width"]
        self.proj = nn.Conv2d(s["image"]["channels"], s["width"], (ph, pw), stride=(ph, pw))

    def forward(self, img):
        return self.proj(img).flatten(2).transpose(1, 2)  # [B, rows*cols, D], row-major


class VisionTransformer(nn.Module):
    """timm VisionTransformer (+ the Distilled variant's two heads) for one resolved Spec.

    `eps` and `activation` default to the spec's; the sensitivity checks rebuild the model with a
    different one (or the other sin-cos frequency denominator) and load the same weights.
    """

    def __init__(self, s, eps=None, activation=None, sincos_minus_one=None):
        super().__init__()
        self.s = s
        D = s["width"]
        eps = s["norm"]["eps"] if eps is None else eps
        activation = s["mlp"]["activation"] if activation is None else activation
        kind = s["norm"]["kind"]
        tok = s["tokens"]
        self.num_prefix = prefix_tokens(s)
        rows, cols = patch_grid(s)
        self.patch_embed = PatchEmbed(s)
        # Initial values are irrelevant: every parameter is overwritten by the fixture weights.
        if tok["cls"]:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        if tok["registers"] > 0:
            self.reg_token = nn.Parameter(torch.zeros(1, tok["registers"], D))
        if tok["distill"]:
            self.dist_token = nn.Parameter(torch.zeros(1, 1, D))
        pos = s["pos"]
        if pos["kind"] == "learned":
            length = rows * cols + (self.num_prefix if pos["prefix"] else 0)
            self.pos_embed = nn.Parameter(torch.zeros(1, length, D))
        elif pos["kind"] == "sincos2d":
            # A buffer, not a parameter: it must not appear in the state_dict.
            table = sincos2d_table(rows, cols, D, minus_one=sincos_minus_one)
            self.register_buffer("sincos", table[None], persistent=False)
        self.norm_pre = make_norm(kind, D, eps) if s["preNorm"] else nn.Identity()
        self.blocks = nn.Sequential(*[Block(s, activation, eps) for _ in range(s["depth"])])
        use_fc = s["finalNorm"] and s["fcNorm"]
        self.norm = make_norm(kind, D, eps) if s["finalNorm"] and not use_fc else nn.Identity()
        self.fc_norm = make_norm(kind, D, eps) if use_fc else nn.Identity()
        K = s["head"]["classes"]
        self.head = nn.Linear(D, K)
        if tok["distill"]:
            self.head_dist = nn.Linear(D, K)

    def _prefix(self, B):
        tok = self.s["tokens"]
        parts = []
        if tok["cls"]:
            parts.append(self.cls_token.expand(B, -1, -1))
        if tok["distill"]:
            parts.append(self.dist_token.expand(B, -1, -1))
        if tok["registers"] > 0:
            parts.append(self.reg_token.expand(B, -1, -1))
        return parts

    def _pos_embed(self, x):
        """timm _pos_embed: prefix=True concatenates then adds; no_prefix adds then concatenates."""
        prefix = self._prefix(x.shape[0])
        pos = self.s["pos"]
        if pos["kind"] == "learned" and pos["prefix"]:
            return torch.cat(prefix + [x], dim=1) + self.pos_embed
        if pos["kind"] == "learned":
            x = x + self.pos_embed
        elif pos["kind"] == "sincos2d":
            x = x + self.sincos.to(x.dtype)
        return torch.cat(prefix + [x], dim=1)

    def forward(self, img):
        x = self._pos_embed(self.patch_embed(img))
        x = self.norm_pre(x)
        x = self.blocks(x)
        x = self.norm(x)
        if self.s["tokens"]["distill"]:
            # DeiT distilled inference: average of the class-token and distillation-token heads.
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        if self.s["pool"] == "mean":
            x = x[:, self.num_prefix :].mean(dim=1)  # patches only, every prefix token excluded
        else:
            x = x[:, 0]
        return self.head(self.fc_norm(x))

    def attention_maps(self):
        return [blk.attn.last_attn for blk in self.blocks]


def entropy_ratio(attn):
    """Mean over batch, heads and rows of entropy / log(N): 1 = uniform attention."""
    n = attn.shape[-1]
    ent = -(attn * torch.log(attn.clamp_min(1e-300))).sum(-1)
    return (ent / math.log(n)).mean().item()


def cross_entropy(logits, labels):
    return F.cross_entropy(logits, labels.long(), label_smoothing=0.0)
