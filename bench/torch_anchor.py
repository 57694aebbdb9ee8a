"""PyTorch eager as the native anchor for `vitc bench` (docs/PERFORMANCE.md, "On a real GPU").

Times the same models in PyTorch on the same machine: forward (eval, no_grad) in float32 and, on
CUDA, float16, and optionally a float32 training step (cross-entropy + AdamW). The model is the
project's reference ViT (tools/reference/vit_model.py, timm's VisionTransformer module by module)
built from a compiled spec (generated/<name>/spec.json); attention uses
F.scaled_dot_product_attention where this torch has it, as timm does. Weights are seeded random
(timing does not depend on values). One JSON object per configuration on stdout:

    /usr/bin/python3 bench/torch_anchor.py --device cuda --models tiny,small,base --batches 1,64
    /usr/bin/python3 bench/torch_anchor.py --device cpu --models tiny --batches 1 --dtypes fp32

Medians of --runs timed runs after --warmup untimed ones; each run ends with a device sync.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "reference"))
import vit_model  # noqa: E402  (the reference model, from tools/reference)

MODELS = {"tiny": "vit-tiny", "small": "vit-small", "base": "vit-base"}


def sdpa_forward(self, x):
    """timm's fused attention path: one F.scaled_dot_product_attention call (torch ≥ 2.0)."""
    B, N, C = x.shape
    qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    q, k = self.q_norm(q), self.k_norm(k)
    x = F.scaled_dot_product_attention(q, k, v)
    return self.proj(x.transpose(1, 2).reshape(B, N, C))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, device, warmup, runs):
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="tiny,small,base")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--dtypes", default=None, help="fp32,fp16 (default: fp16 only on CUDA)")
    ap.add_argument("--train", action="store_true", help="also time a float32 training step")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    device = torch.device(a.device)
    dtypes = (a.dtypes or ("fp32,fp16" if device.type == "cuda" else "fp32")).split(",")
    if hasattr(F, "scaled_dot_product_attention"):
        vit_model.Attention.forward = sdpa_forward
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    torch.manual_seed(0)
    for m in a.models.split(","):
        if m not in MODELS:
            sys.exit(f"unknown model {m} (one of {', '.join(MODELS)})")
        spec_file = os.path.join(HERE, "..", "generated", MODELS[m], "spec.json")
        with open(spec_file) as f:
            spec = json.load(f)
        model = vit_model.VisionTransformer(spec).to(device)
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.02)
        img = spec["image"]
        for batch in [int(b) for b in a.batches.split(",")]:
            x = torch.randn(batch, img["channels"], img["height"], img["width"], device=device)
            for dt in dtypes:
                dtype = {"fp32": torch.float32, "fp16": torch.float16}[dt]
                net = model.to(dtype).eval()
                xin = x.to(dtype)
                with torch.no_grad():
                    ms, times = median_ms(lambda: net(xin), device, a.warmup, a.runs)
                report(spec, name, batch, dt, "forward", ms, times, a)
            if a.train:
                net = model.to(torch.float32).train()
                opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
                labels = torch.randint(0, spec["head"]["classes"], (batch,), device=device)

                def step():
                    opt.zero_grad(set_to_none=True)
                    F.cross_entropy(net(x), labels).backward()
                    opt.step()

                ms, times = median_ms(step, device, a.warmup, a.runs)
                report(spec, name, batch, "fp32", "train", ms, times, a)


def report(spec, device_name, batch, dtype, phase, ms, times, a):
    print(
        json.dumps(
            {
                "anchor": "pytorch-eager",
                "torch": torch.__version__,
                "device": device_name,
                "spec": spec["name"],
                "batch": batch,
                "dtype": dtype,
                "phase": phase,
                "median_ms": round(ms, 3),
                "images_per_s": round(batch * 1000 / ms, 3),
                "runs_ms": [round(t, 3) for t in times],
                "warmup": a.warmup,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
