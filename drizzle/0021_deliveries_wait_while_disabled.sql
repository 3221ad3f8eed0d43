-- A webhook the server disabled (failing for days) still gets its events queued: they wait, pending, until an
-- operator replays it (`cli webhooks replay`), so nothing that happened while it was disabled is lost. Only a
-- deleted webhook gets no more deliveries. A waiting delivery is due at 'infinity', out of the dispatcher's scan of
-- due rows, until the replay makes it due.
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
  INSERT INTO webhook_deliveries (message_id, webhook_id, permit_id, event_type, body, next_attempt_at)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, permit, event_type, body,
      CASE WHEN w.active THEN now() ELSE 'infinity'::timestamptz END
    FROM webhooks w
    WHERE w.jurisdiction_id = p.jurisdiction_id AND w.deleted_at IS NULL AND event_type = ANY (w.events)
      AND (w.contractor_license IS NULL OR w.contractor_license = p.license_number);
  -- what a subscriber's policy filter needs (tenant, contractor) travels with the event
  INSERT INTO change_events (channel, payload) VALUES ('permit_events',
    jsonb_build_object('type', event_type, 'jurisdiction', p.jurisdiction_id, 'contractor', p.license_number, 'data', full_data)::text);
END;
$$;
