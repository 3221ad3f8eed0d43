/** pino JSON lines. Known secret-bearing paths are censored as a second line of defence. */
import pino from 'pino';

export function createLogger(level: string) {
  return pino({
    level,
    base: { service: 'permit-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['authorization', 'headers.authorization', 'headers.cookie', 'client_secret', 'secret', 'token', 'access_token', '*.applicant', '*.email', '*.phone'],
      censor: '[REDACTED]',
    },
  });
}
export type Logger = ReturnType<typeof createLogger>;
