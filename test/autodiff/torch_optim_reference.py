# Writes test/autodiff/torch-optim-reference.json, which test/autodiff/optim.test.ts checks the
# graph-built optimizers against: three steps of torch.nn.utils.clip_grad_norm_ followed by
# torch.optim.{AdamW, Adam, SGD} on two small tensors with fixed gradients, in float64.
# Run: /usr/bin/python3 test/autodiff/torch_optim_reference.py && npx prettier --write test/autodiff/torch-optim-reference.json
import json
import os

import torch

torch.set_default_dtype(torch.float64)
P0 = {"w": [[0.5, -1.25, 2.0], [0.75, -0.3, 0.1]], "b": [0.2, -0.4, 0.05]}
# Per step gradients (the test feeds the same ones), chosen so that clipping is active.
G = [
    {"w": [[0.3, -0.2, 0.9], [1.1, 0.0, -0.7]], "b": [0.5, -0.25, 0.4]},
    {"w": [[-0.1, 0.4, 0.2], [0.3, -0.6, 0.05]], "b": [-0.2, 0.1, 0.3]},
    {"w": [[0.02, 0.01, -0.03], [0.0, 0.04, 0.01]], "b": [0.01, -0.02, 0.0]},
]
LRS = [1e-2, 2e-2, 5e-3]
CLIP = 1.0


def run(make):
    w = torch.tensor(P0["w"], requires_grad=True)
    b = torch.tensor(P0["b"], requires_grad=True)
    # timm's param groups: weight decay on the matrix, none on the bias.
    opt = make([{"params": [w]}, {"params": [b], "weight_decay": 0.0}])
    norms = []
    for g, lr in zip(G, LRS):
        w.grad = torch.tensor(g["w"])
        b.grad = torch.tensor(g["b"])
        norms.append(float(torch.nn.utils.clip_grad_norm_([w, b], CLIP)))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    state = {}
    for name, p in (("w", w), ("b", b)):
        for k, v in opt.state[p].items():
            if k != "step":
                state[f"{k}.{name}"] = v.flatten().tolist()
    return {"norms": norms, "w": w.detach().flatten().tolist(), "b": b.detach().tolist(), **state}


out = {
    "adamw": run(lambda g: torch.optim.AdamW(g, lr=0, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "adam": run(lambda g: torch.optim.Adam(g, lr=0, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "sgd": run(lambda g: torch.optim.SGD(g, lr=0, momentum=0.9, weight_decay=0.1)),
}
out["torch"] = torch.__version__
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-optim-reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
