"""Resolved Spec dictionaries (compiler/spec/types.ts) for the fixture cases.

Each case states only what its model.vit says; `resolve` fills everything else with the
built-in defaults of docs/LANGUAGE.md ("Resolution"), exactly as the real front end must. A later
test resolves model.vit with the TypeScript front end and compares the result with spec.json, so
the defaults here are a second, independent reading of the language document.
"""

import copy
import math


def default_spec(name: str, description: str) -> dict:
    """Every field of Spec at its documented default (the required fields are left as None)."""
    return {
        "name": name,
        "description": description,
        "chain": [name],
        "image": None,
        "patch": None,
        "width": None,
        "depth": None,
        "heads": None,
        "mlp": {"hidden": None, "activation": "gelu"},  # `mlp ratio 4 gelu`
        "norm": {"placement": "pre", "kind": "layernorm", "eps": 1e-6},
        "qkvBias": True,
        "qkNorm": False,
        "layerScale": None,
        "tokens": {"cls": True, "distill": False, "registers": 0},
        "pos": {"kind": "learned", "prefix": True},
        "preNorm": False,
        "finalNorm": True,
        "pool": "cls",
        "fcNorm": None,  # `fc_norm auto`: resolved from pool below
        "head": {"classes": 1000},
        "dropout": {"embed": 0, "attn": 0, "proj": 0, "head": 0, "path": 0},
        "init": {"scheme": "trunc_normal", "std": 0.02, "seed": 0},
        "preprocess": {
            "mean": [0.5, 0.5, 0.5],
            "std": [0.5, 0.5, 0.5],
            "interpolation": "bicubic",
            "crop": 0.9,
        },
        "train": {
            "batch": 128,
            "epochs": 100,
            "optimizer": {
                "kind": "adamw",
                "lr": 1e-3,
                "weightDecay": 0.05,
                "betas": [0.9, 0.999],
                "eps": 1e-8,
                "momentum": 0.9,
            },
            "schedule": {"warmup": 5, "kind": "cosine", "minLr": 1e-5},
            "smoothing": 0.1,
            "clip": None,
            "precision": "f32",
            "seed": 0,
            "augment": {"flip": False, "cropPadding": 0},
        },
    }


def _merge(base: dict, over: dict) -> None:
    """Deep-merge `over` into `base`: a statement changes only the parts it names."""
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)


def resolve(name: str, description: str, settings: dict, mlp_ratio=None) -> dict:
    """Apply `settings` (the model body, in Spec field names) over the defaults.

    `mlp_ratio` mirrors `mlp ratio R`: hidden = floor(width * R) once width is final (rule 3);
    when neither it nor settings["mlp"]["hidden"] is given the default ratio 4 applies.
    """
    spec = default_spec(name, description)
    _merge(spec, settings)
    for req in ("image", "patch", "width", "depth", "heads"):
        assert spec[req] is not None, f"{name}: required field {req} missing"
    if spec["mlp"]["hidden"] is None:
        ratio = 4 if mlp_ratio is None else mlp_ratio
        spec["mlp"]["hidden"] = int(math.floor(spec["width"] * ratio))
    else:
        assert mlp_ratio is None, "give either mlp hidden or mlp ratio"
    if spec["fcNorm"] is None:
        spec["fcNorm"] = spec["pool"] == "mean"
    _validate(spec)
    return spec


def _validate(s: dict) -> None:
    """The semantic checks a real spec must pass; a fixture that fails them would be useless."""
    assert s["width"] % s["heads"] == 0
    assert s["image"]["height"] % s["patch"]["height"] == 0
    assert s["image"]["width"] % s["patch"]["width"] == 0
    assert len(s["preprocess"]["mean"]) == s["image"]["channels"]
    assert len(s["preprocess"]["std"]) == s["image"]["channels"]
    if s["pos"]["kind"] == "sincos2d":
        assert s["width"] % 4 == 0
    if s["pool"] == "cls":
        assert s["tokens"]["cls"]
    if s["tokens"]["distill"]:
        assert s["tokens"]["cls"] and s["pool"] == "cls" and not s["fcNorm"]
    # The fixtures compute a loss over logits, so every case needs a head.
    assert s["head"]["classes"] > 0


# Fields of Spec in the order of compiler/spec/types.ts, so spec.json reads like the interface.
FIELD_ORDER = [
    "name", "description", "chain", "image", "patch", "width", "depth", "heads", "mlp", "norm",
    "qkvBias", "qkNorm", "layerScale", "tokens", "pos", "preNorm", "finalNorm", "pool", "fcNorm",
    "head", "dropout", "init", "preprocess", "train",
]  # fmt: skip


def ordered(spec: dict) -> dict:
    assert set(spec) == set(FIELD_ORDER), set(spec) ^ set(FIELD_ORDER)
    return {k: spec[k] for k in FIELD_ORDER}
