/** Reads of permit corrections and conditions (no writes here, so the lifecycle's callers can import it freely). */
import { and, asc, eq, inArray, ne } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type PermitCondition, permitConditions } from '../db/schema/permit-conditions.ts';

/** Items of a permit that still block the transitions they name. */
export function unresolvedConditions(db: Executor, permitId: string): Promise<PermitCondition[]> {
  return db
    .select()
    .from(permitConditions)
    .where(and(eq(permitConditions.permitId, permitId), ne(permitConditions.state, 'RESOLVED')))
    .orderBy(asc(permitConditions.createdAt));
}

/** Every item of the given permits, oldest first (a permit's conditions field; the caller checked visibility). */
export function conditionsOfPermits(db: Executor, permitIds: readonly string[]): Promise<PermitCondition[]> {
  return db
    .select()
    .from(permitConditions)
    .where(inArray(permitConditions.permitId, [...permitIds]))
    .orderBy(asc(permitConditions.createdAt), asc(permitConditions.id));
}
