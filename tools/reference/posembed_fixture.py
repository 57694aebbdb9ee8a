"""Reference values for vitc's position-embedding resize (runtime/posembed-resize.ts).

Computes timm's `resample_abs_pos_embed` (timm/layers/pos_embed.py; reproduced below because timm
is not a dependency) with PyTorch's own `F.interpolate(mode='bicubic', antialias=True,
align_corners=False)` and saves each case's input and output into
test/fixtures/posembed/posembed.safetensors, which test/weights/posembed.test.ts compares against.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/posembed_fixture.py [OUT]

Inputs come from a fixed integer generator (not torch.randn), so they are the same under every
PyTorch version; the file is written by the small writer below (sorted names, header padded with
spaces to a multiple of 8), so reruns on the same PyTorch build give identical bytes.
"""

import json
import math
import os
import platform
import struct
import sys

import torch
import torch.nn.functional as F

# (name, old grid (rows, cols), new grid, embedding dim, prefix tokens)
CASES = [
    *[(f"up_4x4_6x6_p{p}", (4, 4), (6, 6), 8, p) for p in (0, 1, 2)],
    *[(f"up_14x14_24x24_p{p}", (14, 14), (24, 24), 3, p) for p in (0, 1, 2)],
    *[(f"down_6x6_4x4_p{p}", (6, 6), (4, 4), 8, p) for p in (0, 1, 2)],
    # Shrinking by more than 1.5 widens the filter to 6-7 taps: exercises the long accumulation.
    ("down_24x24_14x14_p1", (24, 24), (14, 14), 3, 1),
    ("mixed_7x5_3x11_p1", (7, 5), (3, 11), 4, 1),
    ("same_5x5_5x5_p1", (5, 5), (5, 5), 4, 1),
]


def resample_abs_pos_embed(posemb, new_size, old_size, num_prefix_tokens):
    """timm.layers.pos_embed.resample_abs_pos_embed (interpolation='bicubic', antialias=True)."""
    num_pos_tokens = posemb.shape[1]
    num_new_tokens = new_size[0] * new_size[1] + num_prefix_tokens
    if num_new_tokens == num_pos_tokens and new_size[0] == new_size[1]:
        return posemb
    if num_prefix_tokens:
        posemb_prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    else:
        posemb_prefix = None
    embed_dim = posemb.shape[-1]
    posemb = posemb.float()
    posemb = posemb.reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    posemb = F.interpolate(posemb, size=new_size, mode="bicubic", antialias=True)
    posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, embed_dim)
    if posemb_prefix is not None:
        posemb = torch.cat([posemb_prefix, posemb], dim=1)
    return posemb


def inputs(count, seed):
    """`count` float32 values in [-1, 1) from a 64-bit LCG (Knuth's MMIX constants)."""
    state = seed
    out = []
    for _ in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append(((state >> 40) / 2**24) * 2 - 1)
    return torch.tensor(out, dtype=torch.float32)


def encode_safetensors(tensors, metadata):
    """{name: float32 tensor} → safetensors bytes (sorted names, space-padded header)."""
    header = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().reshape(-1)
        data = struct.pack("<%df" % t.numel(), *t.tolist())
        header[name] = {
            "dtype": "F32",
            "shape": list(tensors[name].shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    default = os.path.join(root, "test", "fixtures", "posembed", "posembed.safetensors")
    out_path = sys.argv[1] if len(sys.argv) > 1 else default
    tensors, meta = {}, []
    for i, (name, old, new, dim, prefix) in enumerate(CASES):
        x = inputs((prefix + old[0] * old[1]) * dim, seed=1000 + i).reshape(1, -1, dim)
        y = resample_abs_pos_embed(x, list(new), list(old), prefix)
        assert y.shape == (1, prefix + new[0] * new[1], dim), (name, y.shape)
        assert math.isfinite(float(y.abs().max()))
        tensors[f"{name}.input"] = x
        tensors[f"{name}.output"] = y
        meta.append({"name": name, "from": list(old), "to": list(new), "dim": dim, "prefix": prefix})
    blob = encode_safetensors(
        tensors,
        {
            "cases": json.dumps(meta, separators=(",", ":")),
            "generator": "tools/reference/posembed_fixture.py",
            # The CPU kernel's float rounding depends on the build (FMA on x86-64); see the test.
            "machine": platform.machine(),
            "torch": torch.__version__,
        },
    )
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    tmp = f"{out_path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, out_path)
    print(f"wrote {len(CASES)} cases, {len(blob)} bytes to {out_path}")


if __name__ == "__main__":
    main()
