-- Issue 24: moving an inspection is news too. Until now the inspection trigger (webhook_event_triggers) fired on
-- result changes only, so `rescheduleInspection` told no webhook and no subscriber. A move of a pending inspection
-- now raises `inspection.scheduled` again with the new window, `rescheduled: true` and the window it left (the
-- event types of the API stay as they are); every inspection event carries `rescheduled`. A cancellation is a
-- result change (PENDING to CANCELLED) and raises `inspection.resulted` as before. publish_permit_event is left
-- as it is: this replaces only inspection_event and the trigger's column list.
CREATE OR REPLACE FUNCTION inspection_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  moved boolean := TG_OP = 'UPDATE' AND OLD.result = 'PENDING' AND NEW.result = 'PENDING'
    AND (NEW.window_start IS DISTINCT FROM OLD.window_start OR NEW.window_end IS DISTINCT FROM OLD.window_end);
  data jsonb;
BEGIN
  IF TG_OP = 'UPDATE' AND NOT moved AND (OLD.result <> 'PENDING' OR NEW.result = 'PENDING') THEN RETURN NULL; END IF;
  data := jsonb_build_object('inspectionId', NEW.id, 'inspectionType', NEW.inspection_type, 'result', NEW.result,
    'windowStart', event_utc(NEW.window_start), 'windowEnd', event_utc(NEW.window_end),
    'recordedAt', CASE WHEN NEW.recorded_at IS NULL THEN NULL ELSE event_utc(NEW.recorded_at) END,
    'rescheduled', moved);
  IF moved THEN
    data := data || jsonb_build_object('previousWindowStart', event_utc(OLD.window_start),
      'previousWindowEnd', event_utc(OLD.window_end));
  END IF;
  PERFORM publish_permit_event(
    CASE WHEN TG_OP = 'INSERT' OR moved THEN 'inspection.scheduled' ELSE 'inspection.resulted' END,
    NEW.permit_id, data);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS inspections_event ON inspections;
--> statement-breakpoint
CREATE TRIGGER inspections_event AFTER INSERT OR UPDATE OF result, window_start, window_end ON inspections
  FOR EACH ROW EXECUTE FUNCTION inspection_event();
