#!/usr/bin/python3
"""Write the PyTorch reference fixtures test/fixtures/<case>/ (see README.md in this folder).

    /usr/bin/python3 tools/reference/make_fixtures.py            # (re)write every case
    /usr/bin/python3 tools/reference/make_fixtures.py --check    # regenerate into a temp dir, compare
    /usr/bin/python3 tools/reference/make_fixtures.py --only post_relu,deit_distilled

Needs only torch (Debian's python3-torch 1.13). Output is deterministic: running it twice gives
byte-identical files.
"""

import argparse
import json
import os
import sys
import tempfile

# One thread in every BLAS/OpenMP layer, set before torch loads: a single reduction order, so the
# float64 results are byte-identical from run to run even on a busy machine.
for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_v] = '1'

# No __pycache__ next to the sources: it would end up in the repository.
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import safetensors_io  # noqa: E402
import self_checks  # noqa: E402
from cases import CASES  # noqa: E402
from fixture_weights import make_inputs, make_weights, resolved_recipe  # noqa: E402
from param_names import model_params  # noqa: E402
from reference_run import attention_entropies, expected_outputs, sensitivities  # noqa: E402
from spec_resolve import ordered  # noqa: E402
from vit_model import VisionTransformer, cross_entropy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "test", "fixtures")
BATCH = 3
MAX_ENTROPY = 0.8  # attention entropy / log N, every block of every case
MIN_SENSITIVITY = 1e-4  # relative logit change from a wrong eps or GELU form
MAX_FIXTURE_BYTES = 205_000
FILES = ["model.vit", "spec.json", "weights.safetensors", "input.safetensors",
         "expected.safetensors", "meta.json"]  # fmt: skip


def sig(x, digits=3):
    """Round to a few significant digits: meta.json is for people, and stays stable across BLAS builds."""
    return float(f"{x:.{digits}g}")


def float32_agreement(spec, weights, image, labels, expected):
    """How far a float32 torch CPU forward/backward lands from the float64 truth (a tolerance guide)."""
    model = VisionTransformer(spec).float()
    model.load_state_dict(weights)
    logits = model(image)
    loss = cross_entropy(logits, labels)
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, list(params.values()))
    grad_rel = 0.0
    for (name, _), g in zip(params.items(), grads):
        ref = expected[f"grad.{name}"]
        if ref.norm() > 1e-12:  # mathematically-zero gradients have no relative error
            grad_rel = max(grad_rel, ((g.double() - ref).norm() / ref.norm()).item())
    attn = max(
        (a.double() - expected[f"attn.{i}"]).abs().max().item()
        for i, a in enumerate(model.attention_maps())
    )
    rel = lambda a, b: ((a.double() - b).norm() / b.norm()).item()  # noqa: E731
    return {
        "logits_relative_error": sig(rel(logits.detach(), expected["logits"]), 2),
        "loss_relative_error": sig(rel(loss.detach(), expected["loss"]), 2),
        "grad_relative_error_max": sig(grad_rel, 2),
        "attn_abs_error_max": sig(attn, 2),
    }


def zero_gradients(expected, weights):
    """Params whose gradient vanishes in exact arithmetic (expected holds only rounding noise)."""
    out = []
    for name, w in weights.items():
        g = expected[f"grad.{name}"]
        if g.norm() <= 1e-12 * max(1.0, w.double().norm().item()):
            out.append(name)
    return out


def build_case(case, out_dir):
    """Compute one case and write its six files into out_dir; return its meta dict."""
    spec, seed = case["spec"], case["seed"]
    weights = make_weights(spec, seed, case["recipe"])
    image, labels = make_inputs(spec, seed, BATCH)
    expected = expected_outputs(spec, weights, image, labels)
    assert list(weights) == [n for n, _ in model_params(spec)]

    entropies = attention_entropies(expected, spec["depth"])
    assert max(entropies) < MAX_ENTROPY, (case["name"], entropies)
    sens = sensitivities(spec, weights, image, expected["logits"])
    for kind, s in sens.items():
        assert s["relative_logit_change"] > MIN_SENSITIVITY, (case["name"], kind, s)
    zeros = zero_gradients(expected, weights)
    # The only exact zeros we expect: a k_norm bias adds q.b to every score of a row, which
    # softmax cancels. Anything else would be a dead parameter, i.e. a fixture that tests nothing.
    assert all(n.endswith(".attn.k_norm.bias") for n in zeros), zeros
    for name, w in weights.items():
        assert torch.isfinite(expected[f"grad.{name}"]).all()
    fd_worst = self_checks.check_gradients_fd(spec, weights, image, labels, expected)

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.vit"), "w") as f:
        f.write(case["vit"])
    with open(os.path.join(out_dir, "spec.json"), "w") as f:
        f.write(json.dumps(ordered(spec), indent=2) + "\n")
    safetensors_io.write(os.path.join(out_dir, "weights.safetensors"), weights)
    safetensors_io.write(
        os.path.join(out_dir, "input.safetensors"), {"image": image, "labels": labels}
    )
    safetensors_io.write(os.path.join(out_dir, "expected.safetensors"), expected)
    meta = {
        "case": case["name"],
        "description": spec["description"],
        "seed": seed,
        "torch": torch.__version__,
        "batch": BATCH,
        "loss": "mean cross-entropy, label smoothing 0, stored as a 0-d tensor (shape [])",
        "attention_entropy": {
            "definition": "mean over batch, heads and query rows of entropy / log(N); 1 = uniform",
            "per_block": [sig(e) for e in entropies],
            "mean": sig(sum(entropies) / len(entropies)),
        },
        "sensitivity": {
            k: dict(v, relative_logit_change=sig(v["relative_logit_change"]))
            for k, v in sens.items()
        },
        "zero_gradients": zeros,
        "finite_difference_max_relative_error": sig(fd_worst, 2),
        "float32_cpu_vs_float64": float32_agreement(spec, weights, image, labels, expected),
        "weight_recipe": resolved_recipe(spec, case["recipe"]),
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")
    size = sum(os.path.getsize(os.path.join(out_dir, n)) for n in FILES)
    assert size < MAX_FIXTURE_BYTES, (case["name"], size)
    return meta


def run_self_checks():
    """Independent re-derivations of the building blocks, on the baseline case."""
    base = next(c for c in CASES if c["name"] == "pre_gelu_cls")
    spec = base["spec"]
    weights = make_weights(spec, base["seed"], base["recipe"])
    image, _ = make_inputs(spec, base["seed"], BATCH)
    gray = next(c for c in CASES if c["name"] == "gray_nonsquare_no_prefix")
    gimg, _ = make_inputs(gray["spec"], gray["seed"], BATCH)
    gw = make_weights(gray["spec"], gray["seed"], gray["recipe"])
    return {
        "attention_vs_nn.MultiheadAttention": self_checks.check_attention_vs_mha(spec, weights, image),
        "patch_embed_vs_im2col": self_checks.check_patch_embed_im2col(spec, weights, image),
        "patch_embed_vs_im2col_nonsquare": self_checks.check_patch_embed_im2col(gray["spec"], gw, gimg),
        "sincos_norms_gelu_formulas": self_checks.check_elementwise_formulas(),
    }  # fmt: skip


def generate(root_out, names):
    metas = []
    for case in CASES:
        if names and case["name"] not in names:
            continue
        metas.append(build_case(case, os.path.join(root_out, case["name"])))
    paths = [os.path.join(root_out, m["case"], "spec.json") for m in metas]
    print("params.ts cross-check:", self_checks.check_params_against_ts(ROOT, paths))
    return metas


def summarize(metas):
    for m in metas:
        sens = ", ".join(f"{k} {v['relative_logit_change']:.2e}" for k, v in m["sensitivity"].items())
        ent = " ".join(f"{e:.3f}" for e in m["attention_entropy"]["per_block"])
        f32 = m["float32_cpu_vs_float64"]["logits_relative_error"]
        print(f"{m['case']:26s} entropy [{ent}]  sensitivity: {sens}  f32 logits {f32:.1e}")


def compare_dirs(committed, fresh, names):
    """Byte comparison; expected/meta may differ only by float64 rounding across BLAS builds."""
    ok = True
    for case in CASES:
        if names and case["name"] not in names:
            continue
        for fn in FILES:
            a, b = os.path.join(committed, case["name"], fn), os.path.join(fresh, case["name"], fn)
            if not os.path.exists(a):
                print(f"MISSING {case['name']}/{fn}")
                ok = False
                continue
            if open(a, "rb").read() == open(b, "rb").read():
                continue
            if fn == "expected.safetensors":
                ea, eb = safetensors_io.read(a), safetensors_io.read(b)
                same_keys = sorted(ea) == sorted(eb)
                worst = max(((ea[k] - eb[k]).abs().max() / eb[k].abs().max().clamp_min(1e-300)).item()
                            for k in eb) if same_keys else float("inf")  # fmt: skip
                print(f"DIFFERS {case['name']}/{fn}: max relative difference {worst:.1e}")
                ok = ok and worst < 1e-10
            else:
                print(f"DIFFERS {case['name']}/{fn}")
                ok = ok and fn == "meta.json"  # float32 agreement numbers vary by CPU
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--out", default=FIXTURES, help="output folder (default test/fixtures)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - {c["name"] for c in CASES}
    if unknown:
        ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    torch.set_num_threads(1)  # one reduction order: reproducible float64 sums
    print("self-checks:", json.dumps(run_self_checks()))
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            metas = generate(tmp, names)
            ok = compare_dirs(args.out, tmp, names)
        summarize(metas)
        print("fixtures are up to date" if ok else "fixtures differ from a fresh generation")
        sys.exit(0 if ok else 1)
    summarize(generate(args.out, names))


if __name__ == "__main__":
    main()
