"""The fixture cases: each is a model.vit text plus the same model in Spec field names.

`settings` holds exactly what the model.vit states (nothing more); spec_resolve.resolve adds the
documented defaults. Keep the two in step by hand: a front-end test resolves model.vit and
compares it with the spec.json written from these settings.

Every model sets `loss cross_entropy smoothing 0` because expected.safetensors holds the plain
(unsmoothed) cross-entropy; the spec then describes exactly the loss the fixture contains.
Dropout stays 0 everywhere: the fixtures are deterministic forward and backward passes.

Recipe knobs (fixture_weights.DEFAULT_RECIPE): pre-norm models shrink the embedding
(embed_scale), post-norm models shrink the last norm2 affine (shrink_norm); see there why.
"""

from spec_resolve import resolve

PRE = {"embed_scale": 0.03}
POST = {"shrink_norm": "last_norm2", "shrink_scale": 0.03, "qkv_gain": 2.2}
NO_SMOOTHING = {"train": {"smoothing": 0}}


def _case(name, seed, vit, settings, recipe, mlp_ratio=None):
    description = vit.split("\n", 1)[0].lstrip("#").strip()
    spec = resolve(name, description, settings, mlp_ratio)
    text = vit.replace("{NAME}", name)
    assert text.startswith("# ")
    return {"name": name, "seed": seed, "vit": text, "spec": spec, "recipe": recipe}


CASES = [
    _case(
        "pre_gelu_cls",
        11,
        """# Baseline timm ViT: pre-norm LayerNorm eps 1e-6, exact erf GELU, class token, learned position embedding over the prefix, cls pooling
model {NAME} {
  image    16 x 16 x 3
  patch    4
  width    24
  depth    2
  heads    2
  mlp      ratio 2 gelu
  norm     pre layernorm eps 1e-6
  qkv_bias true
  tokens   cls
  pos      learned prefix
  pool     cls
  head     10
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 16, "width": 16, "channels": 3},
            "patch": {"height": 4, "width": 4},
            "width": 24, "depth": 2, "heads": 2,
            "mlp": {"activation": "gelu"},
            "norm": {"placement": "pre", "kind": "layernorm", "eps": 1e-6},
            "qkvBias": True,
            "tokens": {"cls": True, "distill": False, "registers": 0},
            "pos": {"kind": "learned", "prefix": True},
            "pool": "cls",
            "head": {"classes": 10},
            **NO_SMOOTHING,
        },
        PRE,
        mlp_ratio=2,
    ),
    _case(
        "post_relu",
        12,
        """# Post-norm blocks (Vaswani: x = LN(x + f(x))), ReLU MLP given as a hidden size, 4 heads of dim 6, default 3 channels, non-default init block
model {NAME} {
  image 16 x 16          # 3 channels implied
  patch 4
  width 24
  depth 2
  heads 4
  mlp   hidden 32 relu
  norm  post
  head  7
  init  normal std 0.05 seed 7
}

train { loss cross_entropy smoothing 0 }   # top level: applies to every model in this file
""",
        {
            "image": {"height": 16, "width": 16, "channels": 3},
            "patch": {"height": 4, "width": 4},
            "width": 24, "depth": 2, "heads": 4,
            "mlp": {"hidden": 32, "activation": "relu"},
            "norm": {"placement": "post"},
            "head": {"classes": 7},
            "init": {"scheme": "normal", "std": 0.05, "seed": 7},
            **NO_SMOOTHING,
        },
        POST,
    ),
    _case(
        "mean_fcnorm_gelu_tanh",
        13,
        """# Mean pooling over patch tokens only (class token and 2 registers excluded) with fc_norm (auto), tanh GELU, mlp ratio 1.7 floored to 40
model {NAME} {
  image    18 x 18 x 3
  patch    6
  width    24
  depth    2
  heads    2
  mlp      ratio 1.7 gelu_tanh
  tokens   cls registers 2
  pool     mean
  fc_norm  auto
  head     10
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 18, "width": 18, "channels": 3},
            "patch": {"height": 6, "width": 6},
            "width": 24, "depth": 2, "heads": 2,
            "mlp": {"activation": "gelu_tanh"},
            "tokens": {"cls": True, "distill": False, "registers": 2},
            "pool": "mean",
            "head": {"classes": 10},
            **NO_SMOOTHING,
        },
        PRE,
        mlp_ratio=1.7,
    ),
    _case(
        "layer_scale_qk_norm",
        14,
        """# LayerScale (ls1/ls2 gammas), per-head LayerNorm of q and k (qk_norm), and fc_norm forced on with cls pooling
model {NAME} {
  image       16 x 16 x 3
  patch       4
  width       24
  depth       2
  heads       3
  mlp         ratio 1.5
  layer_scale 0.1
  qk_norm     true
  fc_norm     true
  head        5
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 16, "width": 16, "channels": 3},
            "patch": {"height": 4, "width": 4},
            "width": 24, "depth": 2, "heads": 3,
            "layerScale": 0.1,
            "qkNorm": True,
            "fcNorm": True,
            "head": {"classes": 5},
            **NO_SMOOTHING,
        },
        PRE,
        mlp_ratio=1.5,
    ),
    _case(
        "deit_distilled",
        15,
        """# DeiT distilled: class and distillation tokens, logits = (head(x[:,0]) + head_dist(x[:,1])) / 2, qkv without bias, 3 heads, depth 3
model {NAME} {
  image    12 x 12 x 3
  patch    4
  width    24
  depth    3
  heads    3
  mlp      ratio 1 gelu
  qkv_bias false
  tokens   cls distill
  head     10
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 12, "width": 12, "channels": 3},
            "patch": {"height": 4, "width": 4},
            "width": 24, "depth": 3, "heads": 3,
            "mlp": {"activation": "gelu"},
            "qkvBias": False,
            "tokens": {"cls": True, "distill": True, "registers": 0},
            "head": {"classes": 10},
            **NO_SMOOTHING,
        },
        PRE,
        mlp_ratio=1,
    ),
    _case(
        "gray_nonsquare_no_prefix",
        16,
        """# Grayscale 12 x 20 image with 4 x 5 patches (3 x 4 grid), class token and 1 register, position embedding on patches only (timm no_embed_class), no final norm
model {NAME} {
  image      12 x 20 x 1
  patch      4 x 5
  width      24
  depth      2
  heads      2
  mlp        ratio 2 gelu
  tokens     cls registers 1
  pos        learned no_prefix
  final_norm false
  head       4
  preprocess {
    mean 0.286
    std  0.353
    interpolation bilinear
    crop 1
  }
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 12, "width": 20, "channels": 1},
            "patch": {"height": 4, "width": 5},
            "width": 24, "depth": 2, "heads": 2,
            "mlp": {"activation": "gelu"},
            "tokens": {"cls": True, "distill": False, "registers": 1},
            "pos": {"kind": "learned", "prefix": False},
            "finalNorm": False,
            "head": {"classes": 4},
            "preprocess": {"mean": [0.286], "std": [0.353], "interpolation": "bilinear", "crop": 1},
            **NO_SMOOTHING,
        },
        PRE,
        mlp_ratio=2,
    ),
    _case(
        "rmsnorm_swiglu",
        17,
        """# RMSNorm everywhere (weight only) including per-head q/k norm, SwiGLU MLP (fc1_g, fc1_x, fc2), no position embedding
model {NAME} {
  image    12 x 12 x 3
  patch    4
  width    32
  depth    2
  heads    2
  mlp      hidden 20 swiglu
  norm     rmsnorm
  qk_norm  true
  pos      none
  head     6
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 12, "width": 12, "channels": 3},
            "patch": {"height": 4, "width": 4},
            "width": 32, "depth": 2, "heads": 2,
            "mlp": {"hidden": 20, "activation": "swiglu"},
            "norm": {"kind": "rmsnorm"},
            "qkNorm": True,
            "pos": {"kind": "none", "prefix": False},
            "head": {"classes": 6},
            **NO_SMOOTHING,
        },
        PRE,
    ),
    _case(
        "sincos_pre_norm",
        18,
        """# Fixed 2-D sin-cos position table on a non-square 4 x 3 patch grid, norm_pre after the embedding, qkv without bias, mean pooling with fc_norm off (final norm before pooling)
model {NAME} {
  image    16 x 12 x 3
  patch    4
  width    24
  depth    2
  heads    2
  mlp      ratio 2 gelu
  qkv_bias false
  pos      sincos2d
  pre_norm true
  pool     mean
  fc_norm  false
  head     8
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 16, "width": 12, "channels": 3},
            "patch": {"height": 4, "width": 4},
            "width": 24, "depth": 2, "heads": 2,
            "mlp": {"activation": "gelu"},
            "qkvBias": False,
            "pos": {"kind": "sincos2d", "prefix": False},
            "preNorm": True,
            "pool": "mean",
            "fcNorm": False,
            "head": {"classes": 8},
            **NO_SMOOTHING,
        },
        # The fixed sin-cos table (entries of size 1) cannot be shrunk with the embedding, so a small
        # norm_pre affine makes blocks.0.norm1 the eps-sensitive norm instead.
        {"shrink_norm": "norm_pre", "shrink_scale": 0.03},
        mlp_ratio=2,
    ),
    _case(
        "post_rmsnorm_gap",
        19,
        """# Post-norm with RMSNorm eps 1e-5, no prefix tokens at all, global average pooling with fc_norm, tanh GELU
model {NAME} {
  image  20 x 20 x 3
  patch  5
  width  24
  depth  2
  heads  2
  mlp    ratio 2 gelu_tanh
  norm   post rmsnorm eps 1e-5
  tokens none
  pool   mean
  head   3
  train { loss cross_entropy smoothing 0 }
}
""",
        {
            "image": {"height": 20, "width": 20, "channels": 3},
            "patch": {"height": 5, "width": 5},
            "width": 24, "depth": 2, "heads": 2,
            "mlp": {"activation": "gelu_tanh"},
            "norm": {"placement": "post", "kind": "rmsnorm", "eps": 1e-5},
            "tokens": {"cls": False, "distill": False, "registers": 0},
            "pool": "mean",
            "head": {"classes": 3},
            **NO_SMOOTHING,
        },
        POST,
        mlp_ratio=2,
    ),
]  # fmt: skip
