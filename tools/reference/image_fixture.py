"""Sample images and PIL/torchvision reference outputs for runtime/image (test/image/).

Writes into test/fixtures/images/:
  shapes.png, shapes.jpg (baseline, 4:4:4), shapes-progressive.jpg (4:2:0), gray.jpg, pattern.png,
  pattern-rgba.png       synthetic inputs, drawn from formulas (no downloads, no randomness)
  pil/*.png              PIL's own decode of each JPEG (jpeg-js is compared to it with a tolerance)
  resize/*.png           PIL Image.resize of pattern.png (and of its 'L' conversion)
  preprocess.json        timm's eval transform (torchvision Resize/CenterCrop/ToTensor/Normalize)
and runtime/image/colormap-data.ts (matplotlib's viridis and inferno as 8-bit tables).

Run with Debian's packages (python3-pil, python3-torchvision, python3-matplotlib):
  /usr/bin/python3 tools/reference/image_fixture.py
timm is not installed, so its eval transform (timm/data/transforms_factory.py, center mode) and
ResizeKeepRatio (timm/data/transforms.py) are reproduced below in a few lines each.
"""

import base64
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw
import torch
from torchvision import transforms

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "images")
INTERP = {
    "nearest": transforms.InterpolationMode.NEAREST,
    "bilinear": transforms.InterpolationMode.BILINEAR,
    "bicubic": transforms.InterpolationMode.BICUBIC,
}
PIL_INTERP = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def pattern():
    """40x30 RGB: hashed noise (R), a 3-pixel 0/255 checkerboard that makes bicubic overshoot and
    clip (G), a smooth ramp (B). Integer formulas only, so every platform draws the same."""
    y, x = np.mgrid[0:30, 0:40]
    r = (x * 2654435761 + y * 40503 + (x * y) * 97) % 251
    g = (((x // 3) + (y // 3)) % 2) * 255
    b = (x * 255) // 39
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def shapes():
    """64x48 RGB gradient with a red disc, a blue square and a green triangle."""
    y, x = np.mgrid[0:48, 0:64]
    bg = np.stack([x * 4, y * 5, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    im = Image.fromarray(bg, "RGB")
    d = ImageDraw.Draw(im)
    d.ellipse((6, 8, 26, 28), fill=(220, 30, 30))
    d.rectangle((36, 6, 56, 22), fill=(30, 40, 200))
    d.polygon([(34, 44), (60, 44), (47, 27)], fill=(20, 180, 60))
    return im


def timm_eval(img, size, crop, interpolation, mean, std):
    """timm transforms_imagenet_eval, crop_mode 'center', on a PIL image; size = (h, w)."""
    scale = tuple(math.floor(s / crop) for s in size)
    if scale[0] == scale[1]:
        resize = transforms.Resize(scale[0], interpolation=INTERP[interpolation])
    else:
        # timm ResizeKeepRatio(scale_size), longest=0. NB timm passes no interpolation here (its
        # default is bilinear); vitc uses the spec's, so the cases below use bilinear.
        h, w = img.size[::-1]
        ratio = max(h / scale[0], w / scale[1]) * 0.0 + min(h / scale[0], w / scale[1]) * 1.0
        new = [round(v * 1.0 / ratio) for v in (h, w)]
        resize = transforms.Resize(new, interpolation=INTERP[interpolation])
    t = transforms.Compose(
        [
            resize,
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean=torch.tensor(mean), std=torch.tensor(std)),
        ]
    )
    return t(img)


def save(im, *parts):
    path = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im.save(path)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    pat = Image.fromarray(pattern(), "RGB")
    save(pat, "pattern.png")
    alpha = ((np.mgrid[0:30, 0:40][1] * 7) % 256).astype(np.uint8)
    rgba = Image.fromarray(np.dstack([pattern(), alpha]), "RGBA")
    save(rgba, "pattern-rgba.png")
    shp = shapes()
    save(shp, "shapes.png")
    shp.save(os.path.join(OUT, "shapes.jpg"), quality=90, subsampling=0)
    shp.save(os.path.join(OUT, "shapes-progressive.jpg"), quality=85, progressive=True)
    shp.convert("L").crop((0, 0, 32, 24)).save(os.path.join(OUT, "gray.jpg"), quality=90)
    for name in ("shapes.jpg", "shapes-progressive.jpg", "gray.jpg"):
        save(Image.open(os.path.join(OUT, name)), "pil", name + ".png")

    sizes = [(17, 13), (64, 48), (23, 40), (7, 5), (40, 16), (41, 30)]
    for interp in ("nearest", "bilinear", "bicubic"):
        for w, h in sizes:
            save(pat.resize((w, h), PIL_INTERP[interp]), "resize", f"{interp}-{w}x{h}.png")
    gray = pat.convert("L")
    save(gray, "resize", "pattern-L.png")
    save(gray.resize((17, 13), Image.BICUBIC), "resize", "L-bicubic-17x13.png")

    imagenet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    cases = [
        ("pattern.png", "RGB", (16, 16), 0.875, "bicubic", *imagenet),
        ("pattern.png", "L", (12, 20), 0.9, "bilinear", [0.5], [0.5]),
        ("pattern.png", "RGB", (24, 24), 1.0, "nearest", [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]),
        ("shapes.png", "RGB", (32, 32), 0.95, "bicubic", *imagenet),
        ("pattern-rgba.png", "RGB", (16, 16), 1.0, "bilinear", *imagenet),
        ("shapes.png", "L", (20, 12), 0.875, "bilinear", [0.45], [0.27]),
    ]
    out = []
    for file, mode, size, crop, interp, mean, std in cases:
        img = Image.open(os.path.join(OUT, file)).convert(mode)
        t = timm_eval(img, size, crop, interp, mean, std)
        out.append(
            {
                "file": file,
                "image": {"height": size[0], "width": size[1], "channels": len(mean)},
                "preprocess": {"mean": mean, "std": std, "interpolation": interp, "crop": crop},
                "shape": list(t.shape),
                # Exact float32 values: little-endian bytes, base64 (a quarter the size of decimals).
                "float32_le_base64": base64.b64encode(t.numpy().astype("<f4").tobytes()).decode(),
            }
        )
    with open(os.path.join(OUT, "preprocess.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    write_colormaps()


def write_colormaps():
    from matplotlib import colormaps

    lines = [
        "// Generated by tools/reference/image_fixture.py from matplotlib's colormaps (256 entries,",
        "// as Colormap(..., bytes=True) returns them: float·255 truncated). Do not edit by hand.",
        "",
    ]
    for name in ("viridis", "inferno"):
        rgb = colormaps[name](np.arange(256), bytes=True)[:, :3]
        hexs = "".join(f"{r:02x}{g:02x}{b:02x}" for r, g, b in rgb)
        lines.append(f"export const {name.upper()}_HEX =")
        chunks = [hexs[i : i + 84] for i in range(0, len(hexs), 84)]
        lines += [f"  '{c}'" + (" +" if i < len(chunks) - 1 else ";") for i, c in enumerate(chunks)]
        lines.append("")
    path = os.path.join(ROOT, "runtime", "image", "colormap-data.ts")
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
