-- Change events (issue 22), raised by the database in the transaction of the change itself, whichever code path
-- made it (a request, the outbox replay): one delivery row per interested webhook (a transactional outbox) and a
-- NOTIFY for live subscriptions. PostgreSQL delivers a NOTIFY only at COMMIT, and the rows roll back with the
-- change, so a rolled-back change raises nothing. A bulk load (demo seed, a legacy import) may set
-- `permit_gateway.suppress_events` to `on` for its transaction (src/db/bulk-load.ts): old records are not news.
CREATE OR REPLACE FUNCTION event_utc(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION publish_permit_event(event_type text, permit uuid, data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  full_data jsonb;
  body jsonb;
BEGIN
  IF current_setting('permit_gateway.suppress_events', true) = 'on' THEN RETURN; END IF;
  SELECT pm.permit_num, pm.jurisdiction_id, c.license_number INTO p
    FROM permits pm LEFT JOIN contractors c ON c.id = pm.contractor_id WHERE pm.id = permit;
  IF NOT FOUND THEN RETURN; END IF;
  full_data := jsonb_build_object('permitNumber', p.permit_num, 'jurisdiction', p.jurisdiction_id) || data;
  body := jsonb_build_object('type', event_type, 'timestamp', event_utc(clock_timestamp()), 'data', full_data);
  INSERT INTO webhook_deliveries (message_id, webhook_id, permit_id, event_type, body)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, permit, event_type, body
    FROM webhooks w
    WHERE w.jurisdiction_id = p.jurisdiction_id AND w.active AND event_type = ANY (w.events)
      AND (w.contractor_license IS NULL OR w.contractor_license = p.license_number);
  -- what a subscriber's policy filter needs (tenant, contractor) travels with the event
  PERFORM pg_notify('permit_events',
    jsonb_build_object('type', event_type, 'jurisdiction', p.jurisdiction_id, 'contractor', p.license_number, 'data', full_data)::text);
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION permit_history_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.from_status IS NULL THEN
    PERFORM publish_permit_event('permit.submitted', NEW.permit_id,
      jsonb_build_object('status', NEW.to_status, 'changedAt', event_utc(NEW.changed_at)));
  ELSE
    PERFORM publish_permit_event('permit.status_changed', NEW.permit_id,
      jsonb_build_object('status', NEW.to_status, 'previousStatus', NEW.from_status, 'changedAt', event_utc(NEW.changed_at)));
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER permit_status_history_event AFTER INSERT ON permit_status_history
  FOR EACH ROW EXECUTE FUNCTION permit_history_event();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION inspection_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (OLD.result <> 'PENDING' OR NEW.result = 'PENDING') THEN RETURN NULL; END IF;
  PERFORM publish_permit_event(
    CASE WHEN TG_OP = 'INSERT' THEN 'inspection.scheduled' ELSE 'inspection.resulted' END,
    NEW.permit_id,
    jsonb_build_object('inspectionId', NEW.id, 'inspectionType', NEW.inspection_type, 'result', NEW.result,
      'windowStart', event_utc(NEW.window_start), 'windowEnd', event_utc(NEW.window_end),
      'recordedAt', CASE WHEN NEW.recorded_at IS NULL THEN NULL ELSE event_utc(NEW.recorded_at) END));
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER inspections_event AFTER INSERT OR UPDATE OF result ON inspections
  FOR EACH ROW EXECUTE FUNCTION inspection_event();
