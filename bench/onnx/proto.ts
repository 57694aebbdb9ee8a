// A minimal protocol-buffers writer for the few ONNX messages the exporter needs. ONNX models are
// plain protobuf (onnx.proto, proto2 syntax); writing them needs only varints, fixed32 and
// length-delimited fields, so a hand-written encoder avoids a protobuf dependency. Field numbers
// below are onnx.proto's (onnx/onnx, IR version 8). Repeated scalars are written unpacked, which
// every parser accepts for proto2 fields.

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED32 = 5;
const BYTES = 2;

/** Builds one message as a list of byte chunks; `finish()` concatenates them. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varintRaw(v: bigint): void {
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes).
    let x = BigInt.asUintN(64, v);
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varintRaw(BigInt((field << 3) | wire));
  }

  /** int32, int64, enum and bool fields. */
  int(field: number, v: number | bigint): this {
    this.tag(field, VARINT);
    this.varintRaw(BigInt(v));
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, BYTES);
    this.varintRaw(BigInt(b.length));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  type: DataTypeCode;
  /** Little-endian element bytes (raw_data). */
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  type: DataTypeCode;
  dims: readonly number[];
}

export interface OnnxModel {
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Default-domain opset (17 gives LayerNormalization). */
  opset: number;
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

function attribute(name: string, a: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (a.kind === 'float') w.float(2, a.value).int(20, ATTR_FLOAT);
  else if (a.kind === 'int') w.int(3, a.value).int(20, ATTR_INT);
  else {
    for (const v of a.value) w.int(8, v);
    w.int(20, ATTR_INTS);
  }
  return w;
}

function node(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function tensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type).string(8, t.name).bytes(9, t.raw);
  return w;
}

function valueInfo(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, new ProtoWriter().int(1, d)); // Dimension.dim_value
  const tensorType = new ProtoWriter().int(1, v.type).message(2, shape); // TypeProto.Tensor
  const type = new ProtoWriter().message(1, tensorType); // TypeProto.tensor_type
  return new ProtoWriter().string(1, v.name).message(2, type);
}

/** Serializes a ModelProto (IR version 8, the one that goes with opsets 13–17). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const g = new ProtoWriter();
  for (const n of m.nodes) g.message(1, node(n));
  g.string(2, m.graphName);
  for (const t of m.initializers) g.message(5, tensor(t));
  for (const v of m.inputs) g.message(11, valueInfo(v));
  for (const v of m.outputs) g.message(12, valueInfo(v));
  const opset = new ProtoWriter().string(1, '').int(2, m.opset);
  return new ProtoWriter()
    .int(1, 8) // ir_version
    .string(2, 'vitc-bench') // producer_name
    .message(7, g) // graph
    .message(8, opset) // opset_import
    .finish();
}

/** Raw little-endian bytes of f32 / i64 data for initializers. */
export function f32Raw(data: ArrayLike<number>): Uint8Array {
  const f = Float32Array.from(data);
  return new Uint8Array(f.buffer);
}

export function i64Raw(data: readonly number[]): Uint8Array {
  const b = new BigInt64Array(data.map((v) => BigInt(v)));
  return new Uint8Array(b.buffer);
}
