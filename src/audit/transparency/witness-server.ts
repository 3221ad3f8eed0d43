/**
 * The C2SP tlog-witness `add-checkpoint` endpoint, so a log can push its checkpoints to our witness and collect
 * the cosignature (the witness's pull mode is witness.ts). Same state directory and the same checks; the status
 * codes are the spec's: 404 unknown origin, 403 no trusted signature, 400 malformed or old > size, 409 old size
 * not the one last cosigned (body: that size, `text/x.tlog.size`) or another tree of that size, 422 proof fails.
 */
import { mkdirSync } from 'node:fs';
import { openCheckpoint } from './checkpoint-note.ts';
import { NoteError, type NoteSigner, type NoteVerifier } from './signed-note.ts';
import { checkExtends, lastVerified, rememberAndCosign, WitnessRefusal } from './witness.ts';

export interface WitnessServiceOptions {
  stateDir: string;
  signer: NoteSigner;
  /** Log keys this witness trusts; their names are the origins it knows. */
  logKeys: readonly NoteVerifier[];
  now?: () => Date;
}

const MAX_PROOF_LINES = 63;
const text = (status: number, body: string, type = 'text/plain; charset=utf-8') =>
  new Response(body, { status, headers: { 'content-type': type } });

/** Parses an add-checkpoint body: `old N`, base64 proof lines, a blank line, the checkpoint. */
function parseRequest(body: string): { old: number; proof: string[]; checkpoint: string } | null {
  const blank = body.indexOf('\n\n');
  if (blank < 0) return null;
  const lines = body.slice(0, blank).split('\n');
  const m = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
  if (!m || lines.length - 1 > MAX_PROOF_LINES) return null;
  const proof: string[] = [];
  for (const l of lines.slice(1)) {
    const b = Buffer.from(l, 'base64');
    if (b.length !== 32 || b.toString('base64') !== l) return null;
    proof.push(b.toString('hex'));
  }
  return { old: Number(m[1]), proof, checkpoint: body.slice(blank + 2) };
}

export function createWitnessService(o: WitnessServiceOptions) {
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  // check-then-persist must be atomic (the spec's rollback race): one request at a time
  let queue: Promise<unknown> = Promise.resolve();

  async function addCheckpoint(body: string): Promise<Response> {
    const req = parseRequest(body);
    if (!req) return text(400, 'malformed add-checkpoint request\n');
    const origin = req.checkpoint.split('\n', 1)[0] ?? '';
    const keys = o.logKeys.filter((k) => k.name === origin);
    if (keys.length === 0) return text(404, `unknown log ${origin}\n`);
    let latest: ReturnType<typeof openCheckpoint>;
    try {
      latest = openCheckpoint(req.checkpoint, keys, origin);
    } catch (err) {
      if (err instanceof NoteError) return text(403, `${err.message}\n`);
      throw err;
    }
    if (req.old > latest.size) return text(400, 'old size is larger than the checkpoint\n');
    const previous = lastVerified(o.stateDir, keys);
    const previousSize = previous?.size ?? 0;
    if (req.old !== previousSize) return text(409, `${previousSize}\n`, 'text/x.tlog.size');
    if (req.old === 0 && req.proof.length > 0) return text(400, 'the proof must be empty from size 0\n');
    if (previous) {
      try {
        await checkExtends(previous, latest, async () => req.proof);
      } catch (err) {
        if (!(err instanceof WitnessRefusal)) throw err;
        return err.kind === 'fork' ? text(422, `${err.message}\n`) : text(409, `${err.message}\n`);
      }
    }
    const { line } = rememberAndCosign(o.stateDir, o.signer, req.checkpoint, latest, o.now?.() ?? new Date());
    return text(200, line);
  }

  return {
    /** Handles POST …/add-checkpoint; anything else is 404 (405 for another method). */
    async fetch(request: Request): Promise<Response> {
      if (!new URL(request.url).pathname.endsWith('/add-checkpoint')) return text(404, 'not found\n');
      if (request.method !== 'POST') return text(405, 'POST only\n');
      const body = await request.text();
      if (body.length > 64 * 1024) return text(413, 'request too large\n');
      const run = queue.then(() => addCheckpoint(body));
      queue = run.catch(() => {});
      return run;
    },
  };
}
