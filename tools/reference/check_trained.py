"""PyTorch's view of a model trained by `vitc train`: test accuracy and the demo's expected logits.

vitc trains on WebGPU; this script loads the weights it wrote into the timm-equivalent reference
model (vit_model.py) and, independently of vitc,
  - evaluates Fashion-MNIST test accuracy in float32 (the number `vitc eval` must agree with), and
  - writes models/fmnist-tiny.expected.json: torch float32 and float64 logits of the sample images,
    which test/cli/demo.test.ts compares with `vitc run` to 1e-5.

Optimizer state in a vitc checkpoint (optim.* tensors) is ignored.

Usage (from the repository root):
  python3 tools/reference/check_trained.py --weights models/fmnist-tiny.safetensors
"""

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
from train_fmnist import LABELS, atomic_write, evaluate, load_split, normalize, resolve_spec  # noqa: E402
from vit_model import VisionTransformer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default="specs/fmnist-tiny.vit")
    ap.add_argument("--spec-json", default=None, help="resolved spec (vitc explain --json output)")
    ap.add_argument("--weights", default="models/fmnist-tiny.safetensors")
    ap.add_argument("--expected", default="models/fmnist-tiny.expected.json",
                    help="written; its existing sample list (files, test indices) is kept")
    ap.add_argument("--no-expected", action="store_true", help="only print the test accuracy")
    args = ap.parse_args()

    os.chdir(ROOT)
    torch.set_num_threads(1)
    s = resolve_spec(args.spec, args.spec_json)
    tensors = safetensors_io.read(args.weights)
    weights = {k: v.float() for k, v in tensors.items() if not k.startswith("optim.")}
    model = VisionTransformer(s)
    model.load_state_dict(weights, strict=True)
    test_x, test_y = load_split("t10k")
    acc = evaluate(model, test_x, test_y, s)
    print(f"torch float32 test accuracy of {args.weights}: {acc:.4f} ({round(acc * len(test_y))}/{len(test_y)})")
    if args.no_expected:
        return

    with open(args.expected) as f:
        old = json.load(f)
    samples = [{k: e[k] for k in ("file", "index", "label", "name")} for e in old["samples"]]
    imgs = torch.stack([test_x[e["index"]] for e in samples])
    x = normalize(imgs, s)
    with torch.no_grad():
        model.eval()
        logits32 = model(x)
        ref64 = VisionTransformer(s).double()
        ref64.load_state_dict({k: v.double() for k, v in weights.items()}, strict=True)
        ref64.eval()
        logits64 = ref64(x.double())
    expected = {
        "model": args.weights,
        "spec": args.spec,
        "preprocess": "pixel/255, then (x - mean)/std with mean %s std %s; no resize or crop"
                      % (s["preprocess"]["mean"], s["preprocess"]["std"]),
        "labels": LABELS,
        "torch_test_accuracy": acc,
        "samples": [
            dict(e, logits=[float(v) for v in logits32[k]],
                 logits_f64=[float(v) for v in logits64[k]],
                 predicted=int(logits32[k].argmax()),
                 probabilities=[round(float(v), 6) for v in logits32[k].softmax(-1)])
            for k, e in enumerate(samples)
        ],
    }
    atomic_write(args.expected, json.dumps(expected, indent=2) + "\n")
    print(f"wrote {args.expected}: predicted {[LABELS[e['predicted']] for e in expected['samples']]}")


if __name__ == "__main__":
    main()
