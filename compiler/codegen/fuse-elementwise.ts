// Elementwise chains: consecutive elementwise nodes become one renderElementwise kernel whose
// expressions are the chain written out (structural CSE computes shared subtrees once). This is
// what training graphs need most: the backward pass is full of scale/mul/add chains and the AdamW
// update is ~12 elementwise nodes per parameter.
//
// Greedy, from the last node back: a node joins the group of its readers when they all belong to
// one group. A value read outside the group (or a graph output) may still join, as an extra
// output of the kernel, if it has the group's shape and every outside reader comes after the
// group's last node (so the kernel, which runs at that position, never runs too late). Then
// sibling groups of one shape that read a common input and not each other merge into one kernel
// with several outputs (AdamW's two moments both read the gradient). A group stays within
// MAX_STORAGE_BINDINGS storage buffers (WebGPU's default per-stage limit), which is why an AdamW
// step is two kernels, not one: moments (m, v, g → m', v') and the update (p, m', v' and three
// step-wide scalars → p'); together they would need 10. Constant fills are inlined as literals.
import { type Graph, type Node, shapeEquals } from '../ir/graph.js';

export const MAX_STORAGE_BINDINGS = 8;

const EW_OPS: ReadonlySet<string> = new Set([
  'scale', 'add', 'sub', 'mul', 'div', 'max', 'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'recip',
  'square', 'tanh', 'erf', 'gelu', 'gelu_tanh', 'relu', 'silu', 'sigmoid', 'step',
]); // prettier-ignore

export function isElementwise(n: Node): boolean {
  return EW_OPS.has(n.op) && n.dtype === 'f32';
}

/** The value of a constant that is the same everywhere (a fill), to be written as a literal. */
export function inlineConst(n: Node): number | undefined {
  if (n.op !== 'const' || n.dtype !== 'f32') return undefined;
  const init = n.attrs.init;
  if (init.kind === 'fill') return init.value;
  if (init.kind === 'values' && init.values.length === 1) return init.values[0];
  return undefined;
}

export interface ElementwiseGroup {
  /** Members in topological order; the last one is where the kernel runs. */
  members: number[];
  /** Members whose values leave the kernel (read outside the group, or graph outputs). */
  outputs: number[];
  /** Values read from memory (not members, not inlined constants), in id order. */
  inputs: number[];
  shape: number[];
}

interface Building {
  root: number;
  shape: readonly number[];
  members: Set<number>;
  inputs: Set<number>;
  outputs: Set<number>;
}

export function groupElementwise(
  g: Graph,
  readers: readonly number[][],
  graphOutputs: ReadonlySet<number>,
  skip: ReadonlySet<number>,
  tag: (n: Node) => string,
): { groups: Map<number, ElementwiseGroup>; reasons: string[] } {
  const groupOf = new Map<number, Building>();
  const reasons: string[] = [];
  const operands = (n: Node) => n.inputs.filter((i) => inlineConst(g.nodes[i]) === undefined);
  for (let id = g.nodes.length - 1; id >= 0; id--) {
    const n = g.nodes[id];
    if (skip.has(id) || !isElementwise(n)) continue;
    const rs = readers[id];
    const around = [...new Set(rs.map((r) => groupOf.get(r)).filter((x) => x !== undefined))];
    let joined: Building | undefined;
    if (around.length === 1) {
      const G = around[0];
      const external = rs.filter((r) => groupOf.get(r) !== G);
      const leaves = external.length > 0 || graphOutputs.has(id);
      const inputs = new Set(G.inputs);
      inputs.delete(id);
      for (const i of operands(n)) inputs.add(i);
      const bindings = inputs.size + G.outputs.size + (leaves ? 1 : 0);
      const into = `not fused into the elementwise kernel of ${tag(g.nodes[G.root])}`;
      if (leaves && !shapeEquals(n.shape, G.shape))
        reasons.push(
          `${tag(n)}: ${into}: read elsewhere and its shape [${n.shape}] is not the kernel's [${G.shape}]`,
        );
      else if (external.some((r) => r < G.root))
        reasons.push(
          `${tag(n)}: ${into}: %${external.find((r) => r < G.root)} reads it before that kernel runs`,
        );
      else if (bindings > MAX_STORAGE_BINDINGS)
        reasons.push(
          `${tag(n)}: ${into}: ${bindings} storage buffers would exceed ${MAX_STORAGE_BINDINGS}`,
        );
      else {
        G.members.add(id);
        G.inputs = inputs;
        if (leaves) G.outputs.add(id);
        joined = G;
      }
    } else if (around.length > 1) {
      reasons.push(
        `${tag(n)}: own elementwise kernel: read by ${around.length} fused elementwise kernels (computed once)`,
      );
    }
    if (!joined) {
      joined = {
        root: id,
        shape: n.shape,
        members: new Set([id]),
        inputs: new Set(operands(n)),
        outputs: new Set([id]),
      };
    }
    groupOf.set(id, joined);
  }
  const all = mergeSiblings([...new Set(groupOf.values())], readers, graphOutputs, g, reasons);
  const groups = new Map<number, ElementwiseGroup>();
  for (const G of all) {
    const members = [...G.members].sort((a, b) => a - b);
    groups.set(G.root, {
      members,
      outputs: [...G.outputs].sort((a, b) => a - b),
      inputs: [...G.inputs].sort((a, b) => a - b),
      shape: [...G.shape],
    });
    if (members.length > 1)
      reasons.push(
        `${tag(g.nodes[G.root])}: elementwise chain of ${members.length} nodes (${members.map((m) => `%${m} ${g.nodes[m].op}`).join(', ')}) ` +
          `→ one kernel, ${G.outputs.size} output(s), ${G.inputs.size} input(s)`,
      );
  }
  return { groups, reasons };
}

/**
 * Horizontal fusion: groups of the same shape that share an input, do not read each other's
 * outputs, fit the binding limit together, and whose outputs are all read after both groups'
 * last nodes, become one kernel (run at the later of the two positions).
 */
function mergeSiblings(
  list: Building[],
  readers: readonly number[][],
  graphOutputs: ReadonlySet<number>,
  g: Graph,
  reasons: string[],
): Building[] {
  list.sort((a, b) => a.root - b.root);
  const alive = new Set(list);
  const byInput = new Map<number, Building[]>();
  for (const G of list) for (const i of G.inputs) byInput.set(i, [...(byInput.get(i) ?? []), G]);
  const readsAfter = (G: Building, at: number) =>
    [...G.outputs].every(
      (o) => readers[o].every((r) => G.members.has(r) || r > at) || graphOutputs.has(o),
    );
  for (const [input, gs] of byInput) {
    for (let a = 0; a < gs.length; a++) {
      const A = gs[a];
      if (!alive.has(A)) continue;
      for (let b = a + 1; b < gs.length; b++) {
        const B = gs[b];
        if (!alive.has(B) || !shapeEquals(A.shape, B.shape)) continue;
        if (
          [...A.outputs].some((o) => B.inputs.has(o)) ||
          [...B.outputs].some((o) => A.inputs.has(o))
        )
          continue;
        const inputs = new Set([...A.inputs, ...B.inputs]);
        if (inputs.size + A.outputs.size + B.outputs.size > MAX_STORAGE_BINDINGS) continue;
        const at = Math.max(A.root, B.root);
        if (!readsAfter(A, at) || !readsAfter(B, at)) continue;
        reasons.push(
          `%${at} ${g.nodes[at].op}: sibling elementwise kernels of %${A.root} and %${B.root} merged (both read %${input}; one pass, ${A.outputs.size + B.outputs.size} outputs)`,
        );
        for (const m of B.members) A.members.add(m);
        for (const o of B.outputs) A.outputs.add(o);
        A.inputs = inputs;
        A.root = at;
        alive.delete(B);
      }
    }
  }
  return list.filter((G) => alive.has(G));
}
