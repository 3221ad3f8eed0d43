/**
 * Steady load for the fault tests: contractor loops submitting permits (a unique idempotency key each) and
 * GIS readers (permit(number), permitsGeoJSON, permitStatus), plus a `/readyz` monitor. Every request has a
 * fetch timeout and is recorded with its start time and latency; every receipt a contractor was given is
 * kept by idempotency key, since those are the submissions that must arrive exactly once.
 */

export const FETCH_TIMEOUT_MS = 10_000;

export interface Sample {
  op: 'submit' | 'permit' | 'geojson' | 'status' | 'receipt';
  /** Date.now() when the request was sent. */
  start: number;
  ms: number;
  /** HTTP status, 0 when no response (refused, reset, timeout). */
  status: number;
  /** First GraphQL error code, 'TIMEOUT' or 'NETWORK' when there was no response. */
  code?: string;
  /** permitStatus: the `stale` flag of the answer; true only for a permit read (fresh) before. */
  stale?: boolean;
  knownPermit?: boolean;
}

export interface Receipt {
  key: string;
  clientId: string;
  id: string;
  /** State in the first answer. */
  state: 'PERSISTED' | 'QUEUED';
  at: number;
}

export interface ReadySample {
  at: number;
  status: number;
  reason?: string;
}

export interface Target {
  /** Base url of the server; the test may point it at a restarted server. */
  url: string;
}

export interface LoadOptions {
  target: Target;
  /** Contractor tokens by client id (loops alternate between them). */
  contractors: { clientId: string; token: string }[];
  gisToken: string;
  parcels: { id: string; lon: number; lat: number }[];
  permitNumbers: string[];
  contractorLoops?: number;
  gisLoops?: number;
  /** Pause after each read of a GIS loop. @default 50 */
  thinkMs?: number;
  /**
   * Pause after each submission of a contractor loop: 20 contractors submitting once a second each. Faster
   * submitters queue thousands of items per outage minute, and draining them (one transaction each, serialised
   * with live traffic by the audit chain lock) would not fit the test's time budget. @default 1000
   */
  submitIntervalMs?: number;
  runId: string;
}

export const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) {
  submitPermit(input: $input, idempotencyKey: $key) { receipt { id state permitNumber } }
}`;
const PERMIT = `query($n: String!) { permit(number: $n) { number status parcel { id } } }`;
const GEO = `query($b: BBoxInput!) { permitsGeoJSON(bbox: $b) }`;
export const STATUS = `query($n: String!) { permitStatus(number: $n) { number status updatedAt stale asOf } }`;
export const RECEIPT = `query($id: ID!) { submissionReceipt(id: $id) { id state permitNumber reason } }`;

export interface GqlAnswer {
  status: number;
  ms: number;
  code?: string;
  body?: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** POST /graphql with a timeout; never throws. */
export async function gql(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
  timeoutMs = FETCH_TIMEOUT_MS,
): Promise<GqlAnswer> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    let body: GqlAnswer['body'];
    try {
      body = JSON.parse(text);
    } catch {
      return { status: res.status, ms, code: 'NON_JSON' };
    }
    const code = body?.errors?.[0]?.extensions?.code ?? (body?.errors?.length ? 'ERROR' : undefined);
    return { status: res.status, ms, body, ...(code ? { code } : {}) };
  } catch (err) {
    const ms = performance.now() - t0;
    const name = (err as Error)?.name;
    return { status: 0, ms, code: name === 'TimeoutError' || name === 'AbortError' ? 'TIMEOUT' : 'NETWORK' };
  }
}

export function submissionInput(parcelId: string, n: number) {
  return {
    parcelId,
    permitType: 'ELECTRICAL',
    workClass: 'ALTERATION',
    description: `Fault-test panel upgrade #${n}`,
    valuation: 1000 + n,
    applicant: { name: 'Grace Hopper', email: 'grace@example.org', phone: '+1 555 010 0000' },
  };
}

export class Load {
  readonly samples: Sample[] = [];
  readonly receipts = new Map<string, Receipt>();
  readonly ready: ReadySample[] = [];
  /** Permits whose status this load read fresh from the database at least once. */
  readonly readFresh = new Set<string>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private seq = 0;

  constructor(private readonly opts: LoadOptions) {}

  start() {
    const nC = this.opts.contractorLoops ?? 20;
    const nG = this.opts.gisLoops ?? 20;
    for (let i = 0; i < nC; i++) this.loops.push(this.contractorLoop(i));
    for (let i = 0; i < nG; i++) this.loops.push(this.gisLoop(i));
    this.loops.push(this.readyLoop());
  }

  async stop() {
    this.stopped = true;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async pause(ok: boolean, ms = this.opts.thinkMs ?? 50) {
    // after a refused connection (server being restarted) wait a little longer instead of spinning
    await Bun.sleep(ok ? ms : Math.max(ms, 200));
  }

  private record(op: Sample['op'], start: number, a: GqlAnswer, extra: Partial<Sample> = {}) {
    this.samples.push({ op, start, ms: a.ms, status: a.status, ...(a.code ? { code: a.code } : {}), ...extra });
  }

  private async contractorLoop(i: number) {
    const c = this.opts.contractors[i % this.opts.contractors.length]!;
    const parcels = this.opts.parcels;
    while (!this.stopped) {
      const n = ++this.seq;
      const key = `fault-${this.opts.runId}-${i}-${n}`;
      const parcel = parcels[n % parcels.length]!;
      const start = Date.now();
      const a = await gql(this.opts.target.url, SUBMIT, { input: submissionInput(parcel.id, n), key }, c.token);
      this.record('submit', start, a);
      const r = a.body?.data?.submitPermit?.receipt as { id: string; state: 'PERSISTED' | 'QUEUED' } | undefined;
      if (r?.id) this.receipts.set(key, { key, clientId: c.clientId, id: r.id, state: r.state, at: start });
      await this.pause(a.status !== 0, this.opts.submitIntervalMs ?? 1000);
    }
  }

  private async gisLoop(i: number) {
    const { permitNumbers, parcels, gisToken } = this.opts;
    let k = i;
    while (!this.stopped) {
      k++;
      const start = Date.now();
      let a: GqlAnswer;
      if (k % 3 === 0) {
        const n = permitNumbers[(k * 7 + i) % permitNumbers.length]!;
        a = await gql(this.opts.target.url, PERMIT, { n }, gisToken);
        this.record('permit', start, a);
      } else if (k % 3 === 1) {
        const p = parcels[(k * 5 + i) % parcels.length]!;
        const d = 0.003;
        a = await gql(
          this.opts.target.url,
          GEO,
          { b: { minLon: p.lon - d, minLat: p.lat - d, maxLon: p.lon + d, maxLat: p.lat + d } },
          gisToken,
        );
        this.record('geojson', start, a);
      } else {
        const n = permitNumbers[(k * 11 + i) % permitNumbers.length]!;
        const known = this.readFresh.has(n);
        a = await gql(this.opts.target.url, STATUS, { n }, gisToken);
        const view = a.body?.data?.permitStatus as { stale: boolean } | null | undefined;
        if (view && view.stale === false) this.readFresh.add(n);
        this.record('status', start, a, { knownPermit: known, ...(view ? { stale: view.stale } : {}) });
      }
      await this.pause(a.status !== 0);
    }
  }

  private async readyLoop() {
    while (!this.stopped) {
      const at = Date.now();
      try {
        const r = await fetch(`${this.opts.target.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        const body = (await r.json().catch(() => ({}))) as { reason?: string };
        this.ready.push({ at, status: r.status, ...(body.reason ? { reason: body.reason } : {}) });
      } catch {
        this.ready.push({ at, status: 0 });
      }
      await Bun.sleep(200);
    }
  }
}

/** Max, p50, p99 and count of latencies. */
export function latencyStats(samples: Sample[]) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const q = (p: number) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]! : 0);
  return { n: ms.length, p50: Math.round(q(0.5)), p99: Math.round(q(0.99)), max: Math.round(ms.at(-1) ?? 0) };
}
