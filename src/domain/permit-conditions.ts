/**
 * Corrections and conditions on a permit: a clerk or inspector attaches one, the contractor answers its own, a
 * clerk or inspector resolves it. Until resolved it blocks the transitions it names (lifecycle.ts checkConditions).
 * Every change also writes a status-history row (from = to = the permit's status, the change as its reason), so the
 * permit's history tells the whole story; the audit entry comes with the caller's unit of work.
 */
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type PermitCondition, permitConditions } from '../db/schema/permit-conditions.ts';
import { type Permit, permitStatusHistory, permits } from '../db/schema/permits.ts';
import { badInput, notFound } from '../errors.ts';
import { conditionResponseSchema, parseInput, permitConditionSchema } from './inputs.ts';
import { lockVisiblePermit } from './permit-writes.ts';
import type { Principal } from './principal.ts';
import { visiblePermits } from './visibility.ts';

export interface ConditionChange {
  condition: PermitCondition;
  permitNum: string;
}

async function noteInHistory(tx: Executor, p: Principal, permit: Pick<Permit, 'id' | 'statusCurrent'>, reason: string, now: Date) {
  await tx.insert(permitStatusHistory).values({
    permitId: permit.id,
    fromStatus: permit.statusCurrent,
    toStatus: permit.statusCurrent,
    reason: reason.slice(0, 1000),
    actor: p.clientId,
    changedAt: now,
  });
}

/** The item, locked, when its permit is visible to the principal (a contractor sees only its own). */
async function lockVisibleCondition(tx: Executor, p: Principal, id: string) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound(`condition ${id}`);
  const [found] = await tx
    .select({ condition: permitConditions, permit: { id: permits.id, num: permits.permitNum, status: permits.statusCurrent } })
    .from(permitConditions)
    .innerJoin(permits, eq(permits.id, permitConditions.permitId))
    .where(and(eq(permitConditions.id, id), visiblePermits(p)))
    .for('update', { of: permitConditions });
  if (!found) throw notFound(`condition ${id}`);
  return found;
}

export async function addPermitCondition(tx: Executor, p: Principal, permitNumber: string, rawInput: unknown): Promise<ConditionChange> {
  const input = parseInput(permitConditionSchema, rawInput, 'input');
  const permit = await lockVisiblePermit(tx, p, permitNumber);
  const now = new Date();
  const [row] = await tx
    .insert(permitConditions)
    .values({
      permitId: permit.id,
      kind: input.kind,
      description: input.description,
      blocks: [...new Set(input.blocks)],
      createdBy: p.clientId,
      createdAt: now,
    })
    .returning();
  await noteInHistory(tx, p, permit, `${input.kind.toLowerCase()} ${row!.id} added: ${input.description}`, now);
  return { condition: row!, permitNum: permit.permitNum };
}

export async function answerPermitCondition(tx: Executor, p: Principal, id: string, rawResponse: unknown): Promise<ConditionChange> {
  const response = parseInput(conditionResponseSchema, rawResponse, 'response');
  const { condition, permit } = await lockVisibleCondition(tx, p, id);
  if (condition.state === 'RESOLVED') throw badInput('conditionId', `${condition.kind.toLowerCase()} ${id} is already resolved`);
  if (condition.state === 'ANSWERED' && condition.response === response) return { condition, permitNum: permit.num };
  const now = new Date();
  const [row] = await tx
    .update(permitConditions)
    .set({ state: 'ANSWERED', response, answeredBy: p.clientId, answeredAt: now })
    .where(eq(permitConditions.id, id))
    .returning();
  await noteInHistory(tx, p, { id: permit.id, statusCurrent: permit.status }, `${condition.kind.toLowerCase()} ${id} answered`, now);
  return { condition: row!, permitNum: permit.num };
}

export async function resolvePermitCondition(tx: Executor, p: Principal, id: string): Promise<ConditionChange> {
  const { condition, permit } = await lockVisibleCondition(tx, p, id);
  if (condition.state === 'RESOLVED') return { condition, permitNum: permit.num };
  const now = new Date();
  const [row] = await tx
    .update(permitConditions)
    .set({ state: 'RESOLVED', resolvedBy: p.clientId, resolvedAt: now })
    .where(eq(permitConditions.id, id))
    .returning();
  await noteInHistory(tx, p, { id: permit.id, statusCurrent: permit.status }, `${condition.kind.toLowerCase()} ${id} resolved`, now);
  return { condition: row!, permitNum: permit.num };
}
