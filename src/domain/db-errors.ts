/** SQLSTATE of a unique violation on a named constraint, from either driver. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  let e: unknown = err;
  for (let i = 0; i < 3 && e; i++) {
    const x = e as { code?: string; constraint_name?: string; constraint?: string; cause?: unknown };
    if (x.code === '23505') {
      const name = x.constraint_name ?? x.constraint;
      return !constraint || !name || name === constraint;
    }
    e = x.cause;
  }
  return false;
}
