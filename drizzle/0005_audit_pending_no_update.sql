-- Staged mutation entries (audit_pending) wait for the next group commit; the chainer only inserts and deletes
-- them. Nobody may rewrite or truncate one in that window (a DELETE outside the chainer is what the chain's
-- size and the mutation's own rows would then contradict; UPDATE would rewrite history silently).
CREATE TRIGGER audit_pending_refuse_update
  BEFORE UPDATE ON audit_pending
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_pending_refuse_truncate
  BEFORE TRUNCATE ON audit_pending
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
