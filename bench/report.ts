// Human-readable forms of a BenchResult: the text `vitc bench` prints, and the Markdown table row
// docs/PERFORMANCE.md collects.
import type { BenchResult, PhaseResult } from './run.js';

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const num = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(3));

function phaseLines(name: string, p: PhaseResult, peer: string): string[] {
  const rows = [
    `${name.padEnd(8)} vitc  ${num(p.vitc.images_per_s).padStart(10)} img/s   median ${p.vitc.median_ms.toFixed(1).padStart(9)} ms`,
  ];
  if (p.peer) {
    rows.push(
      `${''.padEnd(8)} ${peer.padEnd(5)} ${num(p.peer.images_per_s).padStart(10)} img/s   median ${p.peer.median_ms.toFixed(1).padStart(9)} ms`,
    );
    const check =
      p.peer.rel_l2 !== undefined ? `   (checked: rel L2 ${p.peer.rel_l2.toExponential(1)})` : '';
    rows.push(
      `${''.padEnd(8)} ratio ${(p.ratio!.toFixed(2) + '×').padStart(10)} vitc/${peer}${check}`,
    );
  }
  const f = p.plan;
  rows.push(
    `${''.padEnd(8)} plan: ${f.dispatches} dispatches, ${f.kernels} kernels, ${MiB(f.buffer_bytes)} of buffers ` +
      `(${MiB(f.param_bytes)} params, ${MiB(f.scratch_bytes)} scratch), compiled in ${f.compile_ms} ms`,
  );
  return rows;
}

export function formatBench(r: BenchResult): string {
  const lines = [
    `vitc bench ${r.spec} (${r.spec_file}), batch ${r.batch}, on ${r.adapter} [${r.backend}]` +
      (r.precision === 'f16' ? ', vitc f16 storage' : ''),
    `weights ${r.weights}; ${r.warmup} warm-up + ${r.runs} timed runs each, interleaved; medians` +
      (r.peer_version ? `; peer ${r.peer_version}` : ''),
    ...phaseLines('forward', r.forward, r.peer),
  ];
  if (r.train && 'unavailable' in r.train)
    lines.push(`train    not available: ${r.train.unavailable}`);
  else if (r.train) lines.push(...phaseLines('train', r.train, r.peer));
  const l = r.machine.loadavg;
  lines.push(
    `machine: ${r.machine.cpus} CPUs, load average ${l.join(' ')} (1/5/15 min) at the end`,
  );
  return lines.join('\n') + '\n';
}

/** One Markdown table row: | spec | batch | phase | vitc img/s | peer | peer img/s | ratio | rel L2 | dispatches | buffers | */
export function markdownRows(r: BenchResult): string[] {
  const rows: string[] = [];
  const add = (phase: string, p: PhaseResult) =>
    rows.push(
      `| ${r.spec} | ${r.batch} | ${phase} | ${num(p.vitc.images_per_s)} (${p.vitc.median_ms.toFixed(0)} ms) | ` +
        `${p.peer ? r.peer : '—'} | ${p.peer ? `${num(p.peer.images_per_s)} (${p.peer.median_ms.toFixed(0)} ms)` : '—'} | ` +
        `${p.ratio !== null ? p.ratio.toFixed(2) + '×' : '—'} | ${p.peer?.rel_l2 !== undefined ? p.peer.rel_l2.toExponential(1) : '—'} | ` +
        `${p.plan.dispatches} | ${MiB(p.plan.buffer_bytes)} |`,
    );
  add(r.precision === 'f16' ? 'forward f16' : 'forward', r.forward);
  if (r.train && !('unavailable' in r.train)) add('train', r.train);
  return rows;
}

export const MARKDOWN_HEADER =
  '| spec | batch | phase | vitc img/s (median) | peer | peer img/s (median) | ratio vitc/peer | peer rel L2 | vitc dispatches | vitc buffers |\n' +
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
