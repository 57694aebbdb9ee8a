"""A minimal, deterministic safetensors writer and reader.

We write the files ourselves (no `safetensors` package) so that the byte layout is fixed and
fully specified: the fixtures must regenerate byte-identically, and the TypeScript loader in
runtime/weights.ts reads the same format.

Layout: 8-byte little-endian u64 header length N, then N bytes of JSON, then the raw tensor data.
The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
relative to the end of the header). We sort tensors by name, lay their data out in that order with
no gaps, write the JSON compactly with sorted keys and no `__metadata__`, and pad the header with
spaces to a multiple of 8 so the data section starts 8-byte aligned (as the reference
implementation does).
"""

import json
import struct

import torch

# dtype tag -> (struct format char, element size, torch dtype)
_DTYPES = {
    "F32": ("f", 4, torch.float32),
    "F64": ("d", 8, torch.float64),
    "I32": ("i", 4, torch.int32),
}
_TAG_OF = {v[2]: k for k, v in _DTYPES.items()}


def _tensor_bytes(t: torch.Tensor, tag: str) -> bytes:
    fmt, _, _ = _DTYPES[tag]
    values = t.detach().contiguous().reshape(-1).tolist()
    # struct packing (not numpy) keeps this dependency-free; '<' fixes little-endian order.
    return struct.pack("<%d%s" % (len(values), fmt), *values)


def encode(tensors: dict) -> bytes:
    """Serialize {name: tensor} (float32, float64 or int32 tensors) to safetensors bytes."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        tag = _TAG_OF.get(t.dtype)
        if tag is None:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        data = _tensor_bytes(t, tag)
        header[name] = {
            "dtype": tag,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write(path: str, tensors: dict) -> None:
    with open(path, "wb") as f:
        f.write(encode(tensors))


def decode(blob: bytes) -> dict:
    """Parse safetensors bytes back into {name: tensor}; used by --check and the self-tests."""
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        fmt, size, dtype = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = (end - begin) // size
        values = struct.unpack("<%d%s" % (count, fmt), blob[base + begin : base + end])
        out[name] = torch.tensor(values, dtype=dtype).reshape(info["shape"])
    return out


def read(path: str) -> dict:
    with open(path, "rb") as f:
        return decode(f.read())
