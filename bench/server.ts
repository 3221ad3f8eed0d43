/**
 * The app as the benchmark runs it: production's pipeline, or a baseline built through src/app.ts's public options
 * (BENCH_VARIANT, read here and nowhere in src/): `security-off` without token verification, guard plugins and the
 * field policy, acting as the client named in `x-bench-client`; `no-audit` without the audit trail; `no-events`
 * production's pipeline with change notifications stopped once started (no LISTEN, no webhook dispatcher), the
 * baseline of the events' idle cost (bench/lib/events.ts). BENCH_OGC_PAGE_CACHE (bytes; 0 turns it off) sizes the
 * OGC page cache, so that `ogcItems` can measure first-time pages; BENCH_OGC_FEATURE_CACHE the cache of single
 * features' JSON (0: every feature built anew).
 */
import type { AppOptions } from '../src/app.ts';
import { exitOnStartFailure, runServer } from '../src/main.ts';
import { benchPrincipal } from './lib/bench-principal.ts';

const variant = process.env.BENCH_VARIANT ?? 'full';
if (process.env.APP_ENV === 'production') exitOnStartFailure(new Error('bench/server.ts runs benchmark baselines: never in production'));

let db: Parameters<typeof benchPrincipal>[0] | undefined;
const options: Record<string, AppOptions> = {
  full: {},
  'security-off': {
    without: ['guard', 'auth'],
    authenticate: async (request) => ({ principal: db ? await benchPrincipal(db, request) : null }),
  },
  'no-audit': { without: ['audit'] },
  'no-events': {},
};
// BENCH_OGC_PAGE_CACHE=0: every OGC page is answered as a first-time page (the page cache off), issue 21's cold path
const pageCache = process.env.BENCH_OGC_PAGE_CACHE;
if (pageCache !== undefined) for (const o of Object.values(options)) o.ogcPageCacheBytes = Number(pageCache);
// BENCH_OGC_FEATURE_CACHE=0: every feature built anew (the one-statement page, as before the feature cache)
const featureCache = process.env.BENCH_OGC_FEATURE_CACHE;
if (featureCache !== undefined) for (const o of Object.values(options)) o.ogcFeatureCacheBytes = Number(featureCache);
const chosen = options[variant];
if (!chosen) exitOnStartFailure(new Error(`BENCH_VARIANT must be one of ${Object.keys(options).join(', ')}`));
runServer(chosen).then(async (running) => {
  db = running.database.db;
  if (variant === 'no-events') await running.services.events.stop();
}, exitOnStartFailure);
