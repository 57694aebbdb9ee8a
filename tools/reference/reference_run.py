"""Float64 forward/backward of one case, plus the sensitivity and attention-sharpness measures."""

import torch

from vit_model import SINCOS_DENOM_MINUS_ONE, VisionTransformer, cross_entropy, entropy_ratio


def build(spec, weights, eps=None, activation=None, sincos_minus_one=None):
    """The float64 reference model holding exactly the float32 fixture weights."""
    model = VisionTransformer(spec, eps, activation, sincos_minus_one).double()
    state = model.state_dict()
    got = {k: list(v.shape) for k, v in state.items()}
    want = {k: list(v.shape) for k, v in weights.items()}
    assert got == want, f"state_dict differs from params.ts: {sorted(set(got) ^ set(want))}"
    model.load_state_dict({k: v.double() for k, v in weights.items()}, strict=True)
    return model


def logits_of(spec, weights, image, **variant):
    with torch.no_grad():
        return build(spec, weights, **variant)(image.double())


def expected_outputs(spec, weights, image, labels):
    """{name: float64 tensor}: logits, loss (0-d), attn.{i}, grad.{param}."""
    model = build(spec, weights)
    logits = model(image.double())
    loss = cross_entropy(logits, labels)
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, list(params.values()))
    out = {"logits": logits.detach(), "loss": loss.detach().reshape([])}
    for i, attn in enumerate(model.attention_maps()):
        out[f"attn.{i}"] = attn.detach()
    for (name, _), g in zip(params.items(), grads):
        out[f"grad.{name}"] = g.detach()
    return out


def relative_change(ref, other):
    return ((other - ref).norm() / ref.norm()).item()


def sensitivities(spec, weights, image, ref_logits):
    """Relative change of the float64 logits under a wrong eps, the other GELU form and (sin-cos
    models) the other frequency denominator (MoCo v3 / timm D/4 instead of big_vision's D/4 - 1)."""
    eps = spec["norm"]["eps"]
    wrong_eps = 1e-5 if eps != 1e-5 else 1e-6
    out = {
        "eps": {
            "used": eps,
            "alternative": wrong_eps,
            "relative_logit_change": relative_change(
                ref_logits, logits_of(spec, weights, image, eps=wrong_eps)
            ),
        }
    }
    act = spec["mlp"]["activation"]
    if act in ("gelu", "gelu_tanh"):
        other = "gelu_tanh" if act == "gelu" else "gelu"
        out["gelu"] = {
            "used": act,
            "alternative": other,
            "relative_logit_change": relative_change(
                ref_logits, logits_of(spec, weights, image, activation=other)
            ),
        }
    if spec["pos"]["kind"] == "sincos2d":
        out["sincos_denominator"] = {
            "used": "D/4 - 1" if SINCOS_DENOM_MINUS_ONE else "D/4",
            "alternative": "D/4" if SINCOS_DENOM_MINUS_ONE else "D/4 - 1",
            "relative_logit_change": relative_change(
                ref_logits,
                logits_of(spec, weights, image, sincos_minus_one=not SINCOS_DENOM_MINUS_ONE),
            ),
        }
    return out


def attention_entropies(expected, depth):
    return [entropy_ratio(expected[f"attn.{i}"]) for i in range(depth)]
