"""Seeded fixture weights and inputs.

The weights are NOT a training init (timm's std 0.02 would make attention nearly uniform and many
parameters nearly irrelevant). They are spread so that every parameter visibly moves the logits,
attention is sharp, and two classic numerical mistakes change the logits far beyond float32 noise:

* A wrong LayerNorm/RMSNorm eps only matters when some norm sees an input of small variance
  (the output scales by sqrt((var + eps) / (var + eps'))). The recipe puts one such norm in every
  model: for pre-norm models the whole embedding (patch projection, tokens, position table) is
  scaled by `embed_scale`, so the first norm (norm_pre or blocks.0.norm1) sees variance ~ scale^2;
  for post-norm models the embedding must stay large (block 0's attention reads it un-normalized),
  so instead the affine of one norm (`shrink_norm`: the last block's norm2) is scaled by
  `shrink_scale`, which makes the input of the next norm (final norm / fc_norm) small. The same
  trick on norm_pre serves the sin-cos model, whose fixed unit-size table cannot be scaled.
* tanh-GELU differs from erf-GELU by at most ~4.7e-4 (near |x| = 2.7), so GELU models centre the
  MLP pre-activations where the two forms differ most relative to the GELU value (GELU_RECIPE).

All values are generated directly in float32 (the reference then runs on exactly these values in
float64), from one torch.Generator per case, in params.ts order, so they are reproducible.
"""

import math

import torch

from param_names import model_params

DEFAULT_RECIPE = {
    "linear_gain": 1.0,  # std of linear weights = gain / sqrt(fan_in)
    "qkv_gain": 1.7,  # sharper attention: q.k/sqrt(hd) has std ~ qkv_gain^2
    "fc1_gain": 2.5,  # wide MLP pre-activations
    "fc1_bias_mean": 0.0,
    "fc2_gain": 1.0,
    "bias_std": 0.2,
    "norm_weight_std": 0.2,  # weight = 1 + N(0, std^2)
    "norm_bias_std": 0.2,
    "qk_norm_weight_mean": 2.0,  # q/k norms output unit variance; scale them up to keep attention sharp
    "token_std": 1.0,  # cls / dist / reg tokens, relative to the embedding scale
    "pos_std": 0.5,
    "gamma_mean": 0.6,  # LayerScale gammas ~ mean + N(0, 0.2^2): clearly not the init value
    "gamma_std": 0.2,
    "embed_scale": 1.0,
    "shrink_norm": None,  # timm prefix of the norm whose affine is scaled, "last_norm2" = last block's
    "shrink_scale": 1.0,
}


# GELU models: fc1 pre-activations centred near -2.5 (spread ~1.4) sit where erf and tanh GELU
# differ most relative to the GELU value itself; a large fc2 restores the MLP's share of the
# residual stream. This lifts the logit change of swapping the GELU form from ~1e-4 to ~1e-3.
# (ReLU and SwiGLU models keep the plain recipe: a negative fc1 bias would kill most ReLUs.)
GELU_RECIPE = {"fc1_gain": 1.0, "fc1_bias_mean": -2.5, "fc2_gain": 5.0}


def _normal(gen, shape, std, mean=0.0):
    return torch.randn(shape, generator=gen, dtype=torch.float32) * std + mean


def resolved_recipe(spec: dict, recipe: dict) -> dict:
    """Defaults, then the GELU adjustments, then the case's own knobs."""
    r = dict(DEFAULT_RECIPE)
    if spec["mlp"]["activation"] in ("gelu", "gelu_tanh"):
        r.update(GELU_RECIPE)
    r.update(recipe)
    return r


def make_weights(spec: dict, seed: int, recipe: dict) -> dict:
    """{timm name: float32 tensor} for every parameter of the spec."""
    r = resolved_recipe(spec, recipe)
    gen = torch.Generator().manual_seed(seed)
    shrink = r["shrink_norm"]
    if shrink == "last_norm2":
        shrink = f"blocks.{spec['depth'] - 1}.norm2"
    es = r["embed_scale"]
    out = {}
    for name, shape in model_params(spec):
        leaf = name.rsplit(".", 1)[-1]
        if name in ("cls_token", "reg_token", "dist_token"):
            t = _normal(gen, shape, r["token_std"] * es)
        elif name == "pos_embed":
            t = _normal(gen, shape, r["pos_std"] * es)
        elif name.startswith("patch_embed."):
            fan_in = math.prod(shape[1:]) if leaf == "weight" else 1
            std = r["linear_gain"] / math.sqrt(fan_in) if leaf == "weight" else r["bias_std"]
            t = _normal(gen, shape, std * es)
        elif leaf == "gamma":
            t = _normal(gen, shape, r["gamma_std"], r["gamma_mean"])
        elif len(shape) == 1 and _is_norm(name):
            scale = r["shrink_scale"] if shrink and name.startswith(shrink + ".") else 1.0
            qk = ".q_norm." in name or ".k_norm." in name
            if leaf == "weight":
                mean = r["qk_norm_weight_mean"] if qk else 1.0
                t = _normal(gen, shape, r["norm_weight_std"], mean) * scale
            else:
                t = _normal(gen, shape, r["norm_bias_std"]) * scale
        elif leaf == "weight":
            gain = r["qkv_gain"] if ".qkv." in name else r["linear_gain"]
            if ".fc1" in name:
                gain = r["fc1_gain"]
            elif ".fc2." in name:
                gain = r["fc2_gain"]
            t = _normal(gen, shape, gain / math.sqrt(shape[1]))
        else:
            mean = r["fc1_bias_mean"] if ".fc1" in name else 0.0
            t = _normal(gen, shape, r["bias_std"], mean)
        out[name] = t.to(torch.float32).contiguous()
    return out


def _is_norm(name: str) -> bool:
    parts = name.split(".")
    return parts[0] in ("norm", "fc_norm", "norm_pre") or any(
        p in ("norm1", "norm2", "q_norm", "k_norm") for p in parts
    )


def make_inputs(spec: dict, seed: int, batch: int = 3):
    """image [B, C, H, W] float32 ~ N(0, 1) and labels int32 in [0, classes)."""
    gen = torch.Generator().manual_seed(seed + 1000003)
    im = spec["image"]
    image = torch.randn(
        (batch, im["channels"], im["height"], im["width"]), generator=gen, dtype=torch.float32
    )
    labels = torch.randint(0, spec["head"]["classes"], (batch,), generator=gen).to(torch.int32)
    return image, labels
