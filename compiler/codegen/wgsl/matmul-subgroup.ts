/**
 * A-row sharing in subgroups (MatmulTiling.subgroup): in the register-tiled matmul, the WX
 * invocations of one workgroup row all load the same TM rows of A at every K step. With
 * subgroups, lane l loads only row (l mod TM) (or TM/S rows when the subgroup is smaller than
 * TM) and the others get it with subgroupShuffle: TM loads become 1 (or TM/S) plus TM shuffles.
 * On CPU drivers a shuffle is a register permute while a load is a gather per lane; measured on
 * ViT-Ti's qkv matmul: 1.50× on lavapipe (subgroups of 8), 1.23× on SwiftShader (4).
 *
 * WebGPU does not promise how invocations map to subgroups. The kernel relies on the usual
 * mapping (lane = local index mod S, subgroups of exactly S) only where it holds: each subgroup
 * checks it once (`subgroupAll`) and runs one of two copies of the K loop, the shuffling one or
 * the plain one (a branch per K step instead cost SwiftShader more than the shuffles saved), so
 * the result is right on any adapter; only the speed depends on the mapping.
 */
import { type WgslWriter, u32 } from './builder.js';
import { aRowStart } from './matmul-norm.js';
import { plus } from './matmul-loads.js';
import type { Plan } from './matmul-plan.js';

/** Extra entry-point parameters the subgroup kernel reads. */
export const SUBGROUP_BUILTINS = [
  '@builtin(subgroup_invocation_id) sg_id: u32',
  '@builtin(subgroup_size) sg_size: u32',
];

/** Once, before the K loop: the layout check and the rows this lane loads for its neighbours. */
export function renderSubgroupBases(w: WgslWriter, p: Plan): void {
  const { size, perLane } = p.subgroup!;
  w.comment(
    `Subgroups of ${size}: lane l loads A row ${perLane === 1 ? 'l mod TM' : `l + ${size}·j (j < ${perLane})`}; ` +
      'the check is uniform in each subgroup.',
  );
  w.line(`let sgOk = subgroupAll(sg_size == ${u32(size)} && sg_id == lid % ${u32(size)});`);
  if (perLane === 1) {
    w.line('let sgLane0 = sg_id - lid % TM; // the lane that loads row m0');
    w.line(`let aMine0 = ${aRowStart(p, 'min(m0 + lid % TM, M - 1u)')};`);
  } else {
    for (let j = 0; j < perLane; j++)
      w.line(`let aMine${j} = ${aRowStart(p, `min(${plus('m0', j * size)} + sg_id, M - 1u)`)};`);
  }
}

/** Inside the K loop of the shuffling copy: raw rows `ar0…ar{TM-1}` (vec4 along K) for this K step. */
export function renderSubgroupLoads(w: WgslWriter, p: Plan): void {
  const { size, perLane } = p.subgroup!;
  for (let j = 0; j < perLane; j++) w.line(`let mine${j} = a[aMine${j} + k / 4u];`);
  for (let i = 0; i < p.tm; i++) {
    const src =
      perLane === 1
        ? `mine0, sgLane0 + ${u32(i)}`
        : `mine${Math.floor(i / size)}, ${u32(i % size)}`;
    w.line(`let ar${i} = subgroupShuffle(${src});`);
  }
}
