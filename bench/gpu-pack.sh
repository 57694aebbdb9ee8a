#!/usr/bin/env bash
# Packs bench/gpu.ts for the GPU machine (/work/shared/gpu/, see its README) and adds what the
# bundle cannot hold: onnxruntime-web's WebGPU wasm (27 MB), brotli-compressed to about 5 MB
# into .gpu/ort/, where bench/gpu.ts finds it. Run from the repository root:
#   bash bench/gpu-pack.sh            # then carry .gpu (docs/PERFORMANCE.md)
set -euo pipefail
KIT="${GPUKIT_DIR:-/work/shared/gpu}"
[ -x "$KIT/pack.sh" ] || { echo "gpu-pack: $KIT/pack.sh not found (set GPUKIT_DIR)" >&2; exit 1; }
"$KIT/pack.sh" bench/gpu.ts
mkdir -p .gpu/ort
src=node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm
dst=.gpu/ort/ort-wasm-simd-threaded.asyncify.wasm.br
if [ ! -f "$dst" ] || [ "$src" -nt "$dst" ]; then
  node -e '
    const z = require("node:zlib"), fs = require("node:fs");
    const b = fs.readFileSync(process.argv[1]);
    const q = { [z.constants.BROTLI_PARAM_QUALITY]: 9, [z.constants.BROTLI_PARAM_SIZE_HINT]: b.length };
    fs.writeFileSync(process.argv[2], z.brotliCompressSync(b, { params: q }));' "$src" "$dst"
fi
du -sh .gpu .gpu/ort | sed 's/^/gpu-pack: /'
