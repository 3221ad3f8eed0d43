-- Append-only audit storage (CONTRACT.md: "The database itself refuses UPDATE, DELETE and TRUNCATE on it").
-- Triggers, not only grants, so the refusal holds for every role that does not own the right to disable
-- triggers (a superuser can still bypass them with session_replication_role; the hash chain and signed
-- checkpoints are what catch that). The README documents also revoking UPDATE/DELETE/TRUNCATE from the app role.
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'P0001', HINT = 'audit entries and checkpoints can only be inserted';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_entries_refuse_update_delete
  BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_entries_refuse_truncate
  BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_refuse_update_delete
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_refuse_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
