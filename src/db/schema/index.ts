// drizzle-kit reads this file; application code imports the aggregate files directly.
export * from './jurisdictions.ts';
export * from './parcels.ts';
export * from './contractors.ts';
export * from './permits.ts';
export * from './inspections.ts';
export * from './clients.ts';
export * from './audit.ts';
export * from './change-counters.ts';
export * from './webhooks.ts';
export * from './permit-conditions.ts';
export * from './change-events.ts';
