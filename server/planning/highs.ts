/**
 * The MIP solver for shift scheduling: HiGHS compiled to WebAssembly (npm `highs`; the .wasm ships in
 * the package, nothing is downloaded at run time). Loaded once, lazily: only planning needs it.
 * See schedule.ts for why HiGHS.
 */
import type { Highs } from 'highs';
import type { MipSolver } from './schedule.ts';

type Loader = () => Promise<Highs>;
let loading: Promise<Highs> | undefined;

/**
 * The package is CommonJS with an ES build: Node's ESM loader hands us the loader as `default`, while
 * TypeScript (NodeNext, CJS-typed declarations) believes `default` is the module object. Accept both.
 */
async function load(): Promise<Highs> {
  const m = (await import('highs')) as unknown as { default: Loader | { default: Loader } };
  return typeof m.default === 'function' ? m.default() : m.default.default();
}

export interface HighsOptions {
  /** Seconds before the best schedule found so far is taken; default 20. */
  timeLimitSec?: number;
  /** Relative MIP gap at which to stop; default 0.1 % (a fraction of one agent-interval a week). */
  mipRelGap?: number;
}

export async function highsSolver(o: HighsOptions = {}): Promise<MipSolver> {
  loading ??= load();
  const highs = await loading;
  return {
    solve(lp: string, so: { relax?: boolean; timeLimitSec?: number } = {}) {
      // The relaxation is the same text without its Generals section (integrality declarations).
      const text = so.relax ? lp.replace(/\nGenerals\n[\s\S]*?\nEnd/, '\nEnd') : lp;
      const r = highs.solve(text, {
        output_flag: false,
        time_limit: so.timeLimitSec ?? o.timeLimitSec ?? 20,
        mip_rel_gap: o.mipRelGap ?? 1e-3,
      });
      const values: Record<string, number> = {};
      for (const [name, col] of Object.entries(r.Columns as Record<string, { Primal: number }>)) values[name] = col.Primal;
      return { status: r.Status, objective: r.ObjectiveValue, values };
    },
  };
}
