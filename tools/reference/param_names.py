"""Python mirror of modelParams() in compiler/spec/params.ts: timm state_dict names and shapes.

The reference model's own state_dict must equal this list (asserted in make_fixtures.py), and
this list is cross-checked against the TypeScript original via `npx tsx` when Node is available
(self_checks.check_params_against_ts), so the fixtures and the compiler agree on every name.
"""


def prefix_tokens(s: dict) -> int:
    t = s["tokens"]
    return int(t["cls"]) + int(t["distill"]) + t["registers"]


def patch_grid(s: dict):
    return s["image"]["height"] // s["patch"]["height"], s["image"]["width"] // s["patch"]["width"]


def num_patches(s: dict) -> int:
    rows, cols = patch_grid(s)
    return rows * cols


def model_params(s: dict):
    """[(name, shape)] in params.ts order."""
    D = s["width"]
    out = []

    def add(name, shape):
        out.append((name, list(shape)))

    def norm(prefix, dim):
        add(f"{prefix}.weight", [dim])
        if s["norm"]["kind"] == "layernorm":
            add(f"{prefix}.bias", [dim])

    def linear(prefix, out_f, in_f, bias=True):
        add(f"{prefix}.weight", [out_f, in_f])
        if bias:
            add(f"{prefix}.bias", [out_f])

    tok = s["tokens"]
    if tok["cls"]:
        add("cls_token", [1, 1, D])
    if tok["registers"] > 0:
        add("reg_token", [1, tok["registers"], D])
    if tok["distill"]:
        add("dist_token", [1, 1, D])
    if s["pos"]["kind"] == "learned":
        length = num_patches(s) + (prefix_tokens(s) if s["pos"]["prefix"] else 0)
        add("pos_embed", [1, length, D])
    C, ph, pw = s["image"]["channels"], s["patch"]["height"], s["patch"]["width"]
    add("patch_embed.proj.weight", [D, C, ph, pw])
    add("patch_embed.proj.bias", [D])
    if s["preNorm"]:
        norm("norm_pre", D)
    hd = D // s["heads"]
    H = s["mlp"]["hidden"]
    for i in range(s["depth"]):
        b = f"blocks.{i}"
        norm(f"{b}.norm1", D)
        linear(f"{b}.attn.qkv", 3 * D, D, s["qkvBias"])
        if s["qkNorm"]:
            norm(f"{b}.attn.q_norm", hd)
            norm(f"{b}.attn.k_norm", hd)
        linear(f"{b}.attn.proj", D, D)
        if s["layerScale"] is not None:
            add(f"{b}.ls1.gamma", [D])
        norm(f"{b}.norm2", D)
        if s["mlp"]["activation"] == "swiglu":
            linear(f"{b}.mlp.fc1_g", H, D)
            linear(f"{b}.mlp.fc1_x", H, D)
        else:
            linear(f"{b}.mlp.fc1", H, D)
        linear(f"{b}.mlp.fc2", D, H)
        if s["layerScale"] is not None:
            add(f"{b}.ls2.gamma", [D])
    if s["finalNorm"] and not s["fcNorm"]:
        norm("norm", D)
    if s["finalNorm"] and s["fcNorm"]:
        norm("fc_norm", D)
    if s["head"]["classes"] > 0:
        linear("head", s["head"]["classes"], D)
        if tok["distill"]:
            linear("head_dist", s["head"]["classes"], D)
    return out
