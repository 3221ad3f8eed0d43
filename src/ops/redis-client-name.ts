/**
 * The name each Redis connection of the app gives itself (CLIENT SETNAME, shown by CLIENT LIST): what it is for and
 * which process holds it, so an operator (or a test) can tell this app's connections from everyone else's.
 */
export type RedisClientPurpose = 'rate-limit' | 'status-cache';

export const REDIS_CLIENT_NAME_PREFIX = 'permit-gateway:';

export const redisClientName = (purpose: RedisClientPurpose, pid = process.pid) => `${REDIS_CLIENT_NAME_PREFIX}${purpose}:${pid}`;
