// wrk's `--latency` report, read into numbers (both proxy benches run wrk).

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
  requests: number;
}

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const lat = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? Number(m[1]) * (unitMs[m[2]] ?? NaN) : NaN;
  };
  const reqs = /(\d+) requests in/.exec(out);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  if (!rps) throw new Error(`cannot read wrk's output:\n${out}`);
  return { rps: Number(rps[1]), p50ms: lat('50'), p99ms: lat('99'), errors, requests: reqs ? Number(reqs[1]) : 0 };
}
