/**
 * pino JSON lines. Known secret-bearing paths are censored as a second line of defence. Each line written inside a
 * sampled trace names its `traceId` (src/ops/tracing.ts), so a trace leads to its logs and back.
 */
import { trace } from '@opentelemetry/api';
import pino from 'pino';

/** pino `mixin`: the active trace id; without a tracer provider the API answers no span at once. */
export function traceMixin(): { traceId?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && sc.traceFlags & 1 ? { traceId: sc.traceId } : {};
}

/** Where lines go: stdout as JSON unless a destination is given (src/ops/pretty-log.ts in a developer's terminal). */
export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      base: { service: 'permit-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceMixin,
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'headers.cookie',
          'client_secret',
          'secret',
          'token',
          'access_token',
          '*.applicant',
          '*.email',
          '*.phone',
        ],
        censor: '[REDACTED]',
      },
    },
    destination,
  );
}
export type Logger = ReturnType<typeof createLogger>;
