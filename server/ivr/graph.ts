/**
 * A picture of an IVR flow: Graphviz DOT built from the flow, laid out by Graphviz itself (the
 * WASM build in @viz-js/viz, so no system binary is needed). Nodes show their type, prompt
 * transcripts and settings; edges show the key or branch that takes the caller along them. Flows
 * the drawn one jumps into are drawn too, each in its own box.
 */
import type { FlowSet } from './flow.ts';
import { branches } from './check.ts';
import type { IvrNode, PromptRef } from './schema.ts';

const STYLE: Record<IvrNode['type'], { shape: string; fill: string }> = {
  play: { shape: 'box', fill: '#e8f1fb' },
  menu: { shape: 'box', fill: '#fff4d6' },
  collect: { shape: 'box', fill: '#fff4d6' },
  hours: { shape: 'diamond', fill: '#eeeeee' },
  set: { shape: 'box', fill: '#f5f5f5' },
  lookup: { shape: 'box', fill: '#f0e8fb' },
  queue: { shape: 'box', fill: '#d9f2d9' },
  callback: { shape: 'box', fill: '#fde6d8' },
  transfer: { shape: 'box', fill: '#fde6d8' },
  survey: { shape: 'box', fill: '#fff4d6' },
  language: { shape: 'box', fill: '#fff4d6' },
  goto: { shape: 'ellipse', fill: '#ffffff' },
  hangup: { shape: 'box', fill: '#f6d5d5' },
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Wrap long transcripts so node boxes stay readable. */
function wrap(s: string, width = 30): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of s.split(/\s+/)) {
    if (line && line.length + w.length + 1 > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out.slice(0, 4).map((l, i, a) => (i === 3 && a.length === 4 && s.length > 4 * width ? `${l}…` : l));
}

function promptText(flows: FlowSet, ref: PromptRef | undefined): string | undefined {
  if (ref === undefined) return undefined;
  if (typeof ref === 'string') return flows.prompts[ref]?.text ?? ref;
  return 'text' in ref ? ref.text : ref.file;
}

function details(flows: FlowSet, node: IvrNode): string[] {
  const lines: string[] = [];
  const quote = (ref: PromptRef | PromptRef[] | undefined): void => {
    const refs = ref === undefined ? [] : Array.isArray(ref) ? ref : [ref];
    for (const r of refs) {
      const t = promptText(flows, r);
      if (t !== undefined) lines.push(...wrap(`“${t}”`));
    }
  };
  switch (node.type) {
    case 'play':
      quote(node.prompt);
      break;
    case 'menu':
      quote(node.prompt);
      lines.push(`timeout ${node.timeout}s, ${node.retries} retries`);
      break;
    case 'collect':
      quote(node.prompt);
      lines.push(`${node.minDigits}-${node.maxDigits} digits → ${node.into}${node.pattern ? ` /${node.pattern}/` : ''}`);
      break;
    case 'hours':
      lines.push(`calendar “${node.calendar}”`);
      break;
    case 'set':
      for (const [k, v] of Object.entries(node.vars)) lines.push(`${k} = ${String(v)}`);
      break;
    case 'lookup':
      lines.push(`${node.method} ${node.url.length > 40 ? `${node.url.slice(0, 39)}…` : node.url}`);
      break;
    case 'queue':
      lines.push(`queue “${node.queue}”, priority ${node.priority}`);
      if (node.skills) lines.push(`skills ${node.skills.map((s) => s.skill).join(', ')}`);
      break;
    case 'callback':
      quote(node.prompt);
      lines.push(`press ${node.acceptDigit} → callback in “${node.queue}”`);
      break;
    case 'transfer':
      lines.push(`to ${node.number}`);
      break;
    case 'survey':
      quote(node.prompt);
      lines.push(`score 1-${node.scale} → ${node.into}`);
      break;
    case 'language':
      quote(node.prompt);
      lines.push(
        Object.entries(node.choices)
          .map(([d, l]) => `${d}:${l}`)
          .join(' '),
      );
      break;
    case 'goto':
      break;
    case 'hangup':
      quote(node.prompt);
      lines.push(`hang up (${node.reason})`);
      break;
  }
  return lines;
}

/** DOT source for `flowName` and every flow reachable from it. */
export function flowToDot(flows: FlowSet, flowName: string): string {
  const included: string[] = [flowName];
  for (let i = 0; i < included.length; i++) {
    const f = flows.flows[included[i]!];
    if (!f) continue;
    for (const node of Object.values(f.nodes)) {
      for (const [, t] of branches(node)) {
        const r = flows.resolve(t, included[i]!);
        if (r && !included.includes(r.flow)) included.push(r.flow);
      }
    }
  }
  const id = (flow: string, node: string): string => `"${esc(`${flow}:${node}`)}"`;
  const out: string[] = [
    `digraph "${esc(flowName)}" {`,
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.35, ranksep=0.45, bgcolor="white"];',
    '  node [fontname="Helvetica", fontsize=10, style="filled,rounded", color="#555555", margin="0.2,0.08"];',
    '  edge [fontname="Helvetica", fontsize=9, color="#555555", arrowsize=0.7];',
  ];
  const edges: string[] = [];
  for (const fname of included) {
    const f = flows.flows[fname];
    if (!f) continue;
    out.push(`  subgraph "cluster_${esc(fname)}" {`);
    out.push(
      `    label=<<b>${esc(fname)}</b>${f.description ? `<br/><font point-size="9">${esc(f.description)}</font>` : ''}>; style="rounded,dashed"; color="#999999";`,
    );
    out.push(`    ${id(fname, '__start')} [label="", shape=circle, width=0.18, style=filled, fillcolor="#333333"];`);
    edges.push(`  ${id(fname, '__start')} -> ${id(fname, f.start)};`);
    for (const [name, node] of Object.entries(f.nodes)) {
      const st = STYLE[node.type];
      // The type sits on its own line: the viewer's font is often wider than Graphviz's estimate.
      const head = `<b>${esc(node.label ?? name)}</b><br/><font color="#777777" point-size="8"><i>${node.type}</i></font>`;
      const body = details(flows, node)
        .map((l) => `<br/><font point-size="9">${esc(l)}</font>`)
        .join('');
      out.push(`    ${id(fname, name)} [shape=${st.shape}, fillcolor="${st.fill}", label=<${head}${body}>];`);
      for (const [key, t] of branches(node)) {
        const r = flows.resolve(t, fname);
        if (!r) continue;
        const label = key[0] === 'choices' ? `key ${key[1]}` : key[0] === 'next' || key[0] === 'target' ? '' : (key[0] ?? '');
        const style = key[0] === 'onFail' || key[0] === 'onFailure' ? ', style=dashed, color="#aa3333", fontcolor="#aa3333"' : '';
        edges.push(`  ${id(fname, name)} -> ${id(r.flow, r.node)} [label="${esc(label)}"${style}];`);
      }
    }
    out.push('  }');
  }
  out.push(...edges, '}');
  return out.join('\n');
}

/** SVG picture of the flow. */
export async function flowToSvg(flows: FlowSet, flowName: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(flowToDot(flows, flowName), { format: 'svg', engine: 'dot' });
}
