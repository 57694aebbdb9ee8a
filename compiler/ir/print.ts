// A stable text form of a graph, one line per node, for dumps, diffs and golden tests:
//   %12 = matmul %10, %11 transB : f32[2,17,48]  # blocks.0.attn.qkv
// Attributes print in a fixed order (ATTR_ORDER, else alphabetical; true flags by name, false
// flags omitted, numbers in JavaScript's shortest round-trip form), so the same graph always
// prints the same bytes however its attribute objects were built.
import { type Graph, type Node, formatShape } from './graph.js';
import type { ConstInit } from './ops.js';

const MAX_INLINE_VALUES = 8;

function fmtNumber(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** FNV-1a over the float64 bytes: identifies long constant tables without printing them. */
function fingerprint(values: readonly number[]): string {
  const bytes = new Uint8Array(Float64Array.from(values).buffer);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function fmtConst(init: ConstInit): string {
  switch (init.kind) {
    case 'fill':
      return `fill(${fmtNumber(init.value)})`;
    case 'values':
      return init.values.length <= MAX_INLINE_VALUES
        ? `values([${init.values.map(fmtNumber).join(',')}])`
        : `values(n=${init.values.length},fnv=${fingerprint(init.values)})`;
    case 'sincos2d':
      return `sincos2d(rows=${init.rows},cols=${init.cols},dim=${init.dim},temperature=${fmtNumber(init.temperature)})`;
  }
}

/** Reading order for ops whose attributes read better unsorted. */
const ATTR_ORDER: Readonly<Record<string, readonly string[]>> = {
  matmul: ['transA', 'transB'],
  slice: ['axis', 'start', 'end'],
  layernorm: ['eps', 'weight', 'bias'],
  rmsnorm: ['eps', 'weight'],
  norm_grad: ['part', 'eps', 'center', 'weight'],
  attention_grad: ['part', 'scale'],
  dropout: ['rate', 'stream'],
  drop_path: ['rate', 'stream'],
};

function fmtAttrs(op: string, attrs: Record<string, unknown>): string[] {
  const parts: string[] = [];
  const first = ATTR_ORDER[op] ?? [];
  const keys = [
    ...first.filter((k) => k in attrs),
    ...Object.keys(attrs)
      .filter((k) => !first.includes(k))
      .sort(),
  ];
  for (const key of keys) {
    const v = attrs[key];
    if (v === true) parts.push(key);
    else if (v === false || v === undefined) continue;
    else if (typeof v === 'number') parts.push(`${key}=${fmtNumber(v)}`);
    else if (Array.isArray(v))
      parts.push(`${key}=[${v.map((e) => fmtNumber(e as number)).join(',')}]`);
    else parts.push(`${key}=${JSON.stringify(v)}`);
  }
  return parts;
}

/** One node as text (without a trailing newline). */
export function printNode(n: Node): string {
  let body: string;
  switch (n.op) {
    case 'input':
    case 'param':
      body = `${n.op} ${JSON.stringify(n.attrs.name)}`;
      break;
    case 'const':
      body = `const ${JSON.stringify(n.attrs.name)} ${fmtConst(n.attrs.init)}`;
      break;
    default: {
      const args = n.inputs.map((i) => `%${i}`).join(', ');
      body = [n.op, args, ...fmtAttrs(n.op, n.attrs as Record<string, unknown>)]
        .filter((s) => s !== '')
        .join(' ');
    }
  }
  // A param's name is its attribute already.
  const comment = n.name !== undefined && n.op !== 'param' ? `  # ${n.name}` : '';
  return `%${n.id} = ${body} : ${formatShape(n.dtype, n.shape)}${comment}`;
}

/** The whole graph: one line per node, then one `output NAME = %ID` line per output. */
export function printGraph(g: Graph): string {
  const lines = g.nodes.map(printNode);
  for (const o of g.outputs) lines.push(`output ${o.name} = %${o.node}`);
  return lines.join('\n') + '\n';
}
