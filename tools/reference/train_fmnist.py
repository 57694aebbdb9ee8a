"""Train the README demo model: specs/fmnist-tiny.vit on Fashion-MNIST, on the CPU, with torch.

Builds the timm-equivalent reference model (vit_model.py) from the resolved spec, trains it with
the spec's recipe (AdamW, 1 warmup epoch then cosine to minLr, label smoothing, grad-norm clip,
random horizontal flip and padded random crop), and writes:

  models/fmnist-tiny.safetensors      float32 weights, timm names (safetensors_io, deterministic)
  models/fmnist-tiny.json             provenance: spec, epochs, test accuracy, time, versions
  models/fmnist-tiny.expected.json    torch float32 (and float64) logits of the sample images
  models/fashion-mnist.labels         the 10 class names, one per line
  samples/fmnist-<index>-<label>.png  6 test-set images, 28x28 8-bit grayscale PNG
  samples/README.md                   where the samples come from

Training runs `--epochs` epochs, cut down after timing the first 20 steps so the run fits in
`--max-minutes` (the last epoch may be partial); the warmup (at most a tenth of the run) and the
cosine schedule are laid out over the steps actually run. Test accuracy is reported after each
(possibly partial) epoch.

Usage (from the repository root):
  python3 tools/reference/train_fmnist.py --epochs 15 --max-minutes 12
"""

import argparse
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
from param_names import model_params  # noqa: E402
from vit_model import VisionTransformer  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LABELS = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# Sample classes, in this order: the first test image of each.
SAMPLE_CLASSES = [9, 1, 7, 8, 3, 4]  # Ankle boot, Trouser, Sneaker, Bag, Dress, Coat


def slug(label):
    return label.lower().replace("/", "-").replace(" ", "-")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        blob = f.read()
    magic, = struct.unpack(">I", blob[:4])
    ndim = magic & 0xFF
    assert magic >> 8 == 0x08, f"{path}: not unsigned-byte IDX"
    dims = struct.unpack(">%dI" % ndim, blob[4 : 4 + 4 * ndim])
    data = torch.frombuffer(bytearray(blob[4 + 4 * ndim :]), dtype=torch.uint8)
    return data.reshape(dims)


def load_split(name):
    images = read_idx(f"{DATA}/{name}-images-idx3-ubyte.gz")
    labels = read_idx(f"{DATA}/{name}-labels-idx1-ubyte.gz").long()
    return images, labels


def resolve_spec(spec_path, spec_json):
    if spec_json:
        with open(spec_json) as f:
            doc = json.load(f)
    else:
        out = subprocess.run(
            ["npx", "tsx", "compiler/cli.ts", "explain", spec_path, "--json"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        doc = json.loads(out)
    return doc["spec"] if "spec" in doc else doc


def init_weights(model, s):
    """timm-style init: trunc_normal(std) for linear/conv weights, pos_embed and cls; zero biases."""
    std = s["init"]["std"]
    for name, p in model.named_parameters():
        if name.endswith(".bias"):
            nn.init.zeros_(p)
        elif "norm" in name and p.dim() == 1:
            nn.init.ones_(p)
        else:
            nn.init.trunc_normal_(p, std=std, a=-2 * std, b=2 * std)


def normalize(x_uint8, s):
    mean = torch.tensor(s["preprocess"]["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(s["preprocess"]["std"], dtype=torch.float32).view(1, -1, 1, 1)
    return (x_uint8.float().unsqueeze(1) / 255.0 - mean) / std


def augment(x, s, gen):
    """x: [B, 28, 28] uint8. Random horizontal flip, then random crop with zero padding."""
    aug = s["train"]["augment"]
    B, H, W = x.shape
    if aug["flip"]:
        flip = torch.rand(B, generator=gen) < 0.5
        x = torch.where(flip.view(B, 1, 1), x.flip(-1), x)
    p = aug["cropPadding"]
    if p:
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (B,), generator=gen)
        dx = torch.randint(0, 2 * p + 1, (B,), generator=gen)
        rows = (dy.view(B, 1) + torch.arange(H).view(1, H))  # [B, H]
        cols = (dx.view(B, 1) + torch.arange(W).view(1, W))  # [B, W]
        bidx = torch.arange(B).view(B, 1, 1)
        x = padded[bidx, rows.view(B, H, 1), cols.view(B, 1, W)]
    return x


def evaluate(model, images, labels, s, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(normalize(images[i : i + batch], s))
            correct += (logits.argmax(-1) == labels[i : i + batch]).sum().item()
    model.train()
    return correct / len(images)


def png_gray(pixels, h, w):
    """8-bit grayscale PNG bytes from a flat list of h*w ints."""
    raw = b"".join(b"\x00" + bytes(pixels[r * w : (r + 1) * w]) for r in range(h))

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def atomic_write(path, data):
    tmp = path + ".tmp"
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default="specs/fmnist-tiny.vit")
    ap.add_argument("--spec-json", default=None, help="resolved spec (vitc explain --json output)")
    ap.add_argument("--epochs", type=int, default=None, help="default: the spec's train.epochs")
    ap.add_argument("--max-minutes", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 was 3x faster than 2 on a loaded 2-core machine")
    ap.add_argument("--seed", type=int, default=None, help="default: the spec's train.seed")
    ap.add_argument("--out", default="models/fmnist-tiny")
    ap.add_argument("--samples", default="samples")
    args = ap.parse_args()

    os.chdir(ROOT)
    torch.set_num_threads(args.threads)
    s = resolve_spec(args.spec, args.spec_json)
    tr = s["train"]
    seed = tr["seed"] if args.seed is None else args.seed
    planned = tr["epochs"] if args.epochs is None else args.epochs
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    train_x, train_y = load_split("train")
    test_x, test_y = load_split("t10k")

    model = VisionTransformer(s)
    init_weights(model, s)
    want = {n: shape for n, shape in model_params(s)}
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert got == want, f"state_dict differs from params: {sorted(set(got) ^ set(want))}"

    opt_s = tr["optimizer"]
    decay = [p for n, p in model.named_parameters() if p.dim() > 1 and "pos_embed" not in n and "cls_token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() > 1 and "pos_embed" not in n and "cls_token" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": opt_s["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=opt_s["lr"], betas=tuple(opt_s["betas"]), eps=opt_s["eps"],
    )
    base_lr, min_lr = opt_s["lr"], tr["schedule"]["minLr"]
    B = tr["batch"]
    steps_per_epoch = math.ceil(len(train_x) / B)
    budget = args.max_minutes * 60
    total = [planned * steps_per_epoch]  # cut down once the step time is known
    warm = [tr["schedule"]["warmup"] * steps_per_epoch]

    def lr_at(step):
        if step < warm[0]:
            return base_lr * (step + 1) / warm[0]
        t = (step - warm[0]) / max(1, total[0] - warm[0])
        return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * min(1.0, t)))

    print(f"spec {s['name']}: width {s['width']} depth {s['depth']} heads {s['heads']} "
          f"params {sum(p.numel() for p in model.parameters())}; planned {planned} epochs, "
          f"max {args.max_minutes} min, torch {torch.__version__}, {args.threads} threads", flush=True)

    start = time.time()
    step = 0
    history = []
    model.train()
    epoch = 0
    eval_seconds = 0.0
    probe = 20  # steps timed before fixing the schedule length
    while step < total[0]:
        t0 = time.time()
        perm = torch.randperm(len(train_x), generator=gen)
        loss_sum, seen = 0.0, 0
        for i in range(0, len(train_x), B):
            if step >= total[0]:
                break
            idx = perm[i : i + B]
            x = normalize(augment(train_x[idx], s, gen), s)
            y = train_y[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss = F.cross_entropy(model(x), y, label_smoothing=tr["smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tr["clip"]:
                nn.utils.clip_grad_norm_(model.parameters(), tr["clip"])
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if step == probe:
                per_step = (time.time() - start) / probe
                # Leave room for one test evaluation per epoch (~ 10000/60000 of an epoch, forward only).
                fit = int(budget / (per_step * 1.1))
                if fit < total[0]:
                    total[0] = max(probe + 1, fit)
                    warm[0] = min(warm[0], max(1, total[0] // 10))
                print(f"  {per_step:.2f}s per step: {total[0]} steps "
                      f"({total[0] / steps_per_epoch:.2f} epochs), warmup {warm[0]} steps", flush=True)
            if step % 50 == 0:
                print(f"  step {step}/{total[0]} loss {loss.item():.4f} lr {lr_at(step - 1):.2e} "
                      f"{time.time() - start:.0f}s", flush=True)
        epoch += 1
        epoch_time = time.time() - t0
        te = time.time()
        acc = evaluate(model, test_x, test_y, s)
        eval_seconds += time.time() - te
        elapsed = time.time() - start
        history.append({"epoch": epoch, "steps": step, "images_seen": step * B,
                        "train_loss": round(loss_sum / seen, 5),
                        "test_accuracy": acc, "seconds": round(elapsed, 1)})
        print(f"epoch {epoch} (step {step}/{total[0]}): loss {loss_sum / seen:.4f} test acc {acc:.4f} "
              f"({epoch_time:.0f}s epoch, {elapsed:.0f}s total)", flush=True)
    train_time = time.time() - start
    final_acc = history[-1]["test_accuracy"]

    # Weights, float32, timm names.
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    model.eval()
    weights = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    atomic_write(args.out + ".safetensors", safetensors_io.encode(weights))
    atomic_write(os.path.join(os.path.dirname(args.out), "fashion-mnist.labels"), "\n".join(LABELS) + "\n")

    # Samples: the first test image of each chosen class.
    os.makedirs(args.samples, exist_ok=True)
    samples = []
    for c in SAMPLE_CLASSES:
        i = int((test_y == c).nonzero()[0].item())
        name = f"fmnist-{i}-{slug(LABELS[c])}.png"
        atomic_write(os.path.join(args.samples, name), png_gray(test_x[i].reshape(-1).tolist(), 28, 28))
        samples.append({"file": f"{args.samples}/{name}", "index": i, "label": c, "name": LABELS[c]})
    lines = [
        "# Sample images",
        "",
        "Six images from the Fashion-MNIST test set (`t10k-images-idx3-ubyte`, Xiao, Rasul and Vollgraf",
        "2017, MIT license): the first test image of each of six classes, written unchanged as 28x28",
        "8-bit grayscale PNGs by `tools/reference/train_fmnist.py`. File names are",
        "`fmnist-<test-set index>-<label>.png`.",
        "",
        "| file | test index | label |",
        "|---|---|---|",
    ]
    lines += [f"| `{os.path.basename(e['file'])}` | {e['index']} | {e['label']} ({e['name']}) |" for e in samples]
    lines += ["", "`models/fmnist-tiny.expected.json` holds PyTorch's logits for these images on the",
              "bundled `models/fmnist-tiny.safetensors` weights.", ""]
    atomic_write(os.path.join(args.samples, "README.md"), "\n".join(lines))

    # Expected logits: the samples are 28x28 already, so preprocessing is /255 then mean/std.
    imgs = torch.stack([test_x[e["index"]] for e in samples])
    x = normalize(imgs, s)
    with torch.no_grad():
        ref32 = VisionTransformer(s)
        ref32.load_state_dict(weights, strict=True)
        ref32.eval()
        logits32 = ref32(x)
        ref64 = VisionTransformer(s).double()
        ref64.load_state_dict({k: v.double() for k, v in weights.items()}, strict=True)
        ref64.eval()
        logits64 = ref64(x.double())
    expected = {
        "model": args.out + ".safetensors",
        "spec": args.spec,
        "preprocess": "pixel/255, then (x - mean)/std with mean %s std %s; no resize or crop"
                      % (s["preprocess"]["mean"], s["preprocess"]["std"]),
        "labels": LABELS,
        "samples": [
            dict(e, logits=[float(v) for v in logits32[k]],
                 logits_f64=[float(v) for v in logits64[k]],
                 predicted=int(logits32[k].argmax()),
                 probabilities=[round(float(v), 6) for v in logits32[k].softmax(-1)])
            for k, e in enumerate(samples)
        ],
    }
    atomic_write(args.out + ".expected.json", json.dumps(expected, indent=2) + "\n")

    meta = {
        "spec": args.spec,
        "model": s["name"],
        "params": sum(p.numel() for p in model.parameters()),
        "dataset": "Fashion-MNIST (60000 train / 10000 test), " + DATA,
        "epochs": round(step / steps_per_epoch, 3),
        "steps": step,
        "steps_per_epoch": steps_per_epoch,
        "epochs_planned": planned,
        "test_accuracy": final_acc,
        "train_seconds": round(train_time, 1),
        "history": history,
        "recipe": {
            "optimizer": "adamw", "lr": base_lr, "min_lr": min_lr, "weight_decay": opt_s["weightDecay"],
            "schedule": f"{warm[0]} step linear warmup, then per-step cosine to min_lr over {total[0]} steps", "batch": B,
            "label_smoothing": tr["smoothing"], "clip": tr["clip"], "augment": tr["augment"],
            "weight_decay_excludes": "biases, norms, pos_embed, cls_token",
        },
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": args.threads,
        "seed": seed,
        "command": "python3 " + " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:]),
    }
    atomic_write(args.out + ".json", json.dumps(meta, indent=2) + "\n")
    print(f"done: {step / steps_per_epoch:.2f} epochs, test accuracy {final_acc:.4f}, {train_time:.0f}s; "
          f"wrote {args.out}.safetensors/.json/.expected.json, {args.samples}/", flush=True)


if __name__ == "__main__":
    main()
