-- Chaining staged entries through one function owned by the schema owner (SECURITY DEFINER, fixed search_path):
-- the app role then needs no DELETE on audit_pending and no INSERT on audit_entries (cli db migrate --app-role),
-- and a staged entry can only leave audit_pending by becoming, unchanged, the next entries of the chain.
CREATE FUNCTION append_audit_entries(
  p_first_seq bigint, p_prev_hash text, p_created_at text, p_entries text, p_hashes text[], p_pending_ids bigint[]
) RETURNS void
-- pg_temp listed last: otherwise it is searched first, and a caller's temporary table could stand in for a table here
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  entries jsonb := p_entries::jsonb;
  staged integer := coalesce(cardinality(p_pending_ids), 0);
  head_seq bigint;
  head_hash text;
  matched integer;
BEGIN
  -- the appenders' lock (src/audit/append.ts): taken again here for a caller that did not take it
  PERFORM pg_advisory_xact_lock(7301000002);
  SELECT seq, hash INTO head_seq, head_hash FROM audit_entries ORDER BY seq DESC LIMIT 1;
  IF p_first_seq <> coalesce(head_seq, 0) + 1 OR p_prev_hash <> coalesce(head_hash, repeat('0', 64)) THEN
    RAISE EXCEPTION 'append_audit_entries: entries must continue the chain after seq %', coalesce(head_seq, 0) USING ERRCODE = 'P0001';
  END IF;
  IF staged > 0 THEN
    WITH taken AS (DELETE FROM audit_pending WHERE id = ANY (p_pending_ids) RETURNING id, entry),
         numbered AS (SELECT entry, row_number() OVER (ORDER BY id) AS n FROM taken)
    SELECT count(*) INTO matched
      FROM numbered d
      JOIN jsonb_array_elements(entries) WITH ORDINALITY AS g(entry, n) ON g.n = d.n
     WHERE g.entry = d.entry || jsonb_build_object('createdAt', p_created_at);
    IF matched <> staged THEN
      RAISE EXCEPTION 'append_audit_entries: staged entries must be chained unchanged, first and in order' USING ERRCODE = 'P0001';
    END IF;
  END IF;
  INSERT INTO audit_entries (seq, created_at, entry, prev_hash, hash)
  SELECT p_first_seq + e.n - 1, p_created_at::timestamptz, e.entry, coalesce(lag(e.hash) OVER (ORDER BY e.n), p_prev_hash), e.hash
    FROM ROWS FROM (jsonb_array_elements(entries), unnest(p_hashes)) WITH ORDINALITY AS e(entry, hash, n);
END;
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION append_audit_entries(bigint, text, text, text, text[], bigint[]) FROM PUBLIC;
--> statement-breakpoint
-- Staged entries are deleted only by append_audit_entries (or the owner): a role granted DELETE by mistake is refused too.
CREATE FUNCTION audit_pending_refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
    RAISE EXCEPTION 'staged audit entries are removed only by chaining them (append_audit_entries)'
      USING ERRCODE = '42501', HINT = 'audit_pending rows cannot be deleted by the application role';
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_pending_refuse_delete
  BEFORE DELETE ON audit_pending
  FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_refuse_delete();
