import { readFileSync } from 'node:fs';

/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): where the samples landed by function
 * (self time), by package or file (self time), and which functions the time was spent under
 * (inclusive). Paths are shown relative to the project.
 *   node bench/cpuprofile-summary.ts <file.cpuprofile> [--top 25]
 */

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
export type CpuProfile = {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
};

const ROOT = new URL('..', import.meta.url).href;
const META = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** Project-relative; packages from `node_modules/` on, wherever that is (it may be a link). */
const shorten = (url: string) => {
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  const packaged = url.indexOf('/node_modules/');
  return packaged === -1 ? url : url.slice(packaged + 1);
};
const where = (frame: CallFrame) => (frame.url ? `${shorten(frame.url)}:${frame.lineNumber + 1}` : '');
const label = (frame: CallFrame) => {
  const name = frame.functionName || '(anonymous)';
  const at = where(frame);
  return at ? `${name} ${at}` : name;
};

/** A file's package (`node_modules/hono`), Node's own module (`node:internal/...`), or project file. */
function area(frame: CallFrame): string {
  if (META.has(frame.functionName) && !frame.url) return frame.functionName;
  const url = shorten(frame.url);
  const module = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (module) return `node_modules/${module[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(deps\/)?([^/]+).*$/, 'node:internal/$2');
  if (!url) return '(native / V8 builtins)';
  return url;
}

/** A project file or an npm package: the code someone could change. */
function ownerOf(frame: CallFrame): string | undefined {
  const at = area(frame);
  return at.startsWith('node_modules/') || frame.url.startsWith(ROOT) ? at : undefined;
}

export function summarise(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // timeDeltas[i] is the gap before sample i: charge each sample the gap that follows it.
  const deltas = profile.timeDeltas;
  const duration = (index: number) => Math.max(deltas[index + 1] ?? deltas[index] ?? 0, 0) / 1000;

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const owners = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    if (!node) return;
    const ms = duration(index);
    total += ms;
    if (node.callFrame.functionName === '(idle)') {
      idle += ms;
      return;
    }
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + ms);
    const group = area(node.callFrame);
    areas.set(group, (areas.get(group) ?? 0) + ms);
    let owner: string | undefined;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || META.has(frame.functionName)) continue;
      owner ??= ownerOf(frame);
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
    const charged = owner ?? group;
    owners.set(charged, (owners.get(charged) ?? 0) + ms);
  });

  const busy = total - idle;
  const rows = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(
        ([name, ms]) =>
          `  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${name}`,
      );
  return [
    `Sampled ${total.toFixed(0)} ms; busy ${busy.toFixed(0)} ms (${((100 * busy) / total).toFixed(0)}%), idle ${idle.toFixed(0)} ms. Percentages are of busy time.`,
    '',
    'Self time by package or file:',
    ...rows(areas, 15),
    '',
    'Time charged to the nearest project file or package on the stack (Node internals and V8',
    'builtins count for whoever called them):',
    ...rows(owners, 15),
    '',
    `Self time, top ${top} functions:`,
    ...rows(self, top),
    '',
    `Inclusive time, top ${top} functions:`,
    ...rows(inclusive, top),
  ].join('\n');
}

if (import.meta.main) {
  const { parseArgs } = await import('node:util');
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  if (positionals.length === 0) {
    console.error('usage: node bench/cpuprofile-summary.ts <file.cpuprofile> [--top 25]');
    process.exit(2);
  }
  for (const file of positionals) {
    console.log(`== ${file}`);
    console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top ?? 25)));
  }
}
