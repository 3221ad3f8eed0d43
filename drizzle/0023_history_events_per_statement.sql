-- A status history row's change event (webhook deliveries and the change feed's row) is written once per INSERT
-- statement for all of its rows, instead of by one function call per row (issue 26): a batch of submissions (the
-- live path's multi-row statement, the outbox replay) inserts many history rows at once, and the per-row call, with
-- its own permit lookup and two single-row inserts, cost ~50 us of PostgreSQL CPU per submission (pg_stat_statements
-- over a 10,000-item outbox drain). Same rows as before, in the same order (the history rows' ids); inspections keep
-- their per-row trigger (one row per statement) and publish_permit_event.
CREATE OR REPLACE FUNCTION permit_history_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('permit_gateway.suppress_events', true) = 'on' THEN RETURN NULL; END IF;
  WITH ev AS MATERIALIZED (
    SELECT n.id, n.permit_id, pm.jurisdiction_id, c.license_number,
      CASE WHEN n.from_status IS NULL THEN 'permit.submitted' ELSE 'permit.status_changed' END AS event_type,
      jsonb_build_object('permitNumber', pm.permit_num, 'jurisdiction', pm.jurisdiction_id) ||
        CASE WHEN n.from_status IS NULL
          THEN jsonb_build_object('status', n.to_status, 'changedAt', event_utc(n.changed_at))
          ELSE jsonb_build_object('status', n.to_status, 'previousStatus', n.from_status, 'changedAt', event_utc(n.changed_at))
        END AS data
    FROM new_history n
    JOIN permits pm ON pm.id = n.permit_id
    LEFT JOIN contractors c ON c.id = pm.contractor_id
  ),
  deliveries AS (
    INSERT INTO webhook_deliveries (message_id, webhook_id, permit_id, event_type, body, next_attempt_at)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, ev.permit_id, ev.event_type,
      jsonb_build_object('type', ev.event_type, 'timestamp', event_utc(clock_timestamp()), 'data', ev.data),
      CASE WHEN w.active THEN now() ELSE 'infinity'::timestamptz END
    FROM ev
    JOIN webhooks w ON w.jurisdiction_id = ev.jurisdiction_id AND w.deleted_at IS NULL AND ev.event_type = ANY (w.events)
      AND (w.contractor_license IS NULL OR w.contractor_license = ev.license_number)
    ORDER BY ev.id, w.id
  )
  -- what a subscriber's policy filter needs (tenant, contractor) travels with the event
  INSERT INTO change_events (channel, payload)
  SELECT 'permit_events',
    jsonb_build_object('type', ev.event_type, 'jurisdiction', ev.jurisdiction_id, 'contractor', ev.license_number, 'data', ev.data)::text
  FROM ev
  ORDER BY ev.id;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP TRIGGER permit_status_history_event ON permit_status_history;
--> statement-breakpoint
CREATE TRIGGER permit_status_history_event AFTER INSERT ON permit_status_history
  REFERENCING NEW TABLE AS new_history
  FOR EACH STATEMENT EXECUTE FUNCTION permit_history_events();
--> statement-breakpoint
DROP FUNCTION permit_history_event();
