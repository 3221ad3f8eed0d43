/** The change events (the API contract's `WebhookEventType`): GraphQL enum names and the dotted types of webhook bodies. */
export const EVENT_TYPES = {
  PERMIT_SUBMITTED: 'permit.submitted',
  PERMIT_STATUS_CHANGED: 'permit.status_changed',
  INSPECTION_SCHEDULED: 'inspection.scheduled',
  INSPECTION_RESULTED: 'inspection.resulted',
  RECEIPT_PERSISTED: 'receipt.persisted',
  RECEIPT_REJECTED: 'receipt.rejected',
} as const;
export type EventTypeName = keyof typeof EVENT_TYPES;
export type EventType = (typeof EVENT_TYPES)[EventTypeName];

export const eventTypeOf = (name: EventTypeName): EventType => EVENT_TYPES[name];
export const eventNameOf = (type: string): EventTypeName | null =>
  (Object.entries(EVENT_TYPES).find(([, t]) => t === type)?.[0] as EventTypeName | undefined) ?? null;

/** An event as the database trigger raises it (migration webhook_event_triggers) and subscribers receive it. */
export interface ChangeEvent {
  type: EventType;
  jurisdiction: string;
  /** License number of the permit's contractor: what a contractor's policy filter compares. */
  contractor: string | null;
  /** Receipt events only: the client whose submission it is (nobody else hears of it). */
  clientId?: string;
  data: Record<string, unknown> & { permitNumber?: string | null };
}
