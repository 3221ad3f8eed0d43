/**
 * The permit lifecycle as a state machine. Statuses are those of the `PermitStatus` enum (schema/permits.graphql);
 * each transition names the scope that may perform it, so "only clerks move review states" is written here once.
 */
import { badInput, forbidden } from '../errors.ts';
import type { PermitStatus } from '../db/schema/permits.ts';

type Rule = { to: PermitStatus; scope: string };

const REVIEW = 'permits:review';
const SUBMIT = 'permits:submit';
const RECORD = 'inspections:record';

export const TRANSITIONS: Readonly<Record<PermitStatus, readonly Rule[]>> = {
  SUBMITTED: [
    { to: 'UNDER_REVIEW', scope: REVIEW },
    { to: 'REJECTED', scope: REVIEW },
    { to: 'WITHDRAWN', scope: SUBMIT },
  ],
  UNDER_REVIEW: [
    { to: 'CORRECTIONS_REQUIRED', scope: REVIEW },
    { to: 'APPROVED', scope: REVIEW },
    { to: 'REJECTED', scope: REVIEW },
    { to: 'WITHDRAWN', scope: SUBMIT },
  ],
  CORRECTIONS_REQUIRED: [
    { to: 'UNDER_REVIEW', scope: REVIEW },
    { to: 'EXPIRED', scope: REVIEW },
    { to: 'WITHDRAWN', scope: SUBMIT },
  ],
  APPROVED: [
    { to: 'ISSUED', scope: REVIEW },
    { to: 'EXPIRED', scope: REVIEW },
    { to: 'WITHDRAWN', scope: SUBMIT },
  ],
  // ISSUED → INSPECTIONS happens when the first inspection is scheduled (see inspections.ts)
  ISSUED: [
    { to: 'INSPECTIONS', scope: REVIEW },
    { to: 'EXPIRED', scope: REVIEW },
  ],
  INSPECTIONS: [
    { to: 'FINALED', scope: RECORD },
    { to: 'FINALED', scope: REVIEW },
    { to: 'EXPIRED', scope: REVIEW },
  ],
  FINALED: [],
  EXPIRED: [],
  REJECTED: [],
  WITHDRAWN: [],
};

export const isTerminal = (s: PermitStatus) => TRANSITIONS[s].length === 0;

/** Statuses in which the applicant may still amend the application. */
export const AMENDABLE: ReadonlySet<PermitStatus> = new Set(['SUBMITTED', 'CORRECTIONS_REQUIRED']);

/**
 * Refuses an illegal transition with BAD_USER_INPUT naming both statuses, and a legal one the actor's
 * scopes do not allow with FORBIDDEN naming the scope that would be needed.
 */
export function checkTransition(from: PermitStatus, to: PermitStatus, scopes: ReadonlySet<string>): void {
  const rules = TRANSITIONS[from].filter((r) => r.to === to);
  if (rules.length === 0) {
    throw badInput('to', `cannot move a permit from ${from} to ${to}`);
  }
  if (!rules.some((r) => scopes.has(r.scope))) {
    throw forbidden(['transitionPermit'], `moving a permit from ${from} to ${to} needs scope ${rules.map((r) => r.scope).join(' or ')}`);
  }
}

/** An unresolved correction or condition, as far as the state machine needs to know it. */
export interface BlockingItem {
  id: string;
  kind: string;
  description: string;
  blocks: readonly PermitStatus[];
}

/**
 * Refuses a move to `to` while an unresolved item names it, with BAD_USER_INPUT naming the item, so a client sees
 * which condition is unmet. `field` is the argument that asked for the move.
 */
export function checkConditions(to: PermitStatus, unresolved: readonly BlockingItem[], field = 'to'): void {
  const blocking = unresolved.find((c) => c.blocks.includes(to));
  if (blocking) {
    throw badInput(
      field,
      `cannot move the permit to ${to} while ${blocking.kind.toLowerCase()} ${blocking.id} ("${blocking.description}") is unresolved`,
    );
  }
}
