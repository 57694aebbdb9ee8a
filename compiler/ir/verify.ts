// Structural checks of a graph. Passes run it on what they produce, so a pass that breaks an
// invariant is caught at the pass, not three passes later in a wrong number.
import { type Graph, formatShape, shapeEquals } from './graph.js';
import { inferType } from './infer.js';
import { ALL_OPS } from './ops.js';

const knownOps: ReadonlySet<string> = new Set(ALL_OPS);

/** Every problem found (empty = valid): order, references, types, outputs, unique leaves. */
export function verifyGraph(g: Graph): string[] {
  const problems: string[] = [];
  const params = new Map<string, number>();
  const inputs = new Map<string, number>();
  g.nodes.forEach((n, pos) => {
    const at = `%${pos}${n.name !== undefined ? ` (${n.name})` : ''}`;
    if (n.id !== pos) problems.push(`${at}: id is ${n.id}, expected its position ${pos}`);
    if (!knownOps.has(n.op)) {
      problems.push(`${at}: unknown op "${n.op}"`);
      return;
    }
    const bad = n.inputs.filter((i) => !(Number.isInteger(i) && i >= 0 && i < pos));
    for (const i of bad)
      problems.push(
        i >= pos && i < g.nodes.length
          ? `${at}: ${n.op} reads %${i}, which comes later (not topological)`
          : `${at}: ${n.op} reads %${i}, which does not exist`,
      );
    if (n.op === 'param') {
      const prev = params.get(n.attrs.name);
      if (prev !== undefined)
        problems.push(`${at}: parameter "${n.attrs.name}" already declared at %${prev}`);
      else params.set(n.attrs.name, pos);
    }
    if (n.op === 'input') {
      const prev = inputs.get(n.attrs.name);
      if (prev !== undefined)
        problems.push(`${at}: input "${n.attrs.name}" already declared at %${prev}`);
      else inputs.set(n.attrs.name, pos);
    }
    if (bad.length > 0) return;
    try {
      const t = inferType(
        n.op,
        n.attrs as never,
        n.inputs.map((i) => g.nodes[i]),
        { shape: n.shape, dtype: n.dtype },
      );
      if (!shapeEquals(t.shape, n.shape) || t.dtype !== n.dtype)
        problems.push(
          `${at}: ${n.op} is ${formatShape(n.dtype, n.shape)} but infers ${formatShape(t.dtype, t.shape)}`,
        );
    } catch (e) {
      problems.push(`${at}: ${(e as Error).message}`);
    }
  });
  const outNames = new Set<string>();
  for (const o of g.outputs) {
    if (outNames.has(o.name)) problems.push(`output "${o.name}" is declared twice`);
    outNames.add(o.name);
    if (!(Number.isInteger(o.node) && o.node >= 0 && o.node < g.nodes.length))
      problems.push(`output "${o.name}" refers to %${o.node}, which does not exist`);
  }
  return problems;
}

/** Throws with every problem listed if the graph is not valid. */
export function assertValidGraph(g: Graph, context = 'graph'): void {
  const problems = verifyGraph(g);
  if (problems.length > 0) throw new Error(`${context} is invalid:\n  ${problems.join('\n  ')}`);
}
