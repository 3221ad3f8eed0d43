CREATE TABLE "jurisdiction_changes" (
	"jurisdiction_id" text PRIMARY KEY NOT NULL,
	"counter" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "jurisdiction_changes" ADD CONSTRAINT "jurisdiction_changes_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- One bump per write statement and jurisdiction (statement-level, from the transition table), whoever writes:
-- the API, the CLI, imports. NOTIFY (sent at commit) lets servers drop their cached counter at once.
CREATE FUNCTION jurisdiction_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  j record;
BEGIN
  FOR j IN
    INSERT INTO jurisdiction_changes AS c (jurisdiction_id, counter)
      SELECT DISTINCT jurisdiction_id, 1 FROM changed_rows
    ON CONFLICT (jurisdiction_id) DO UPDATE SET counter = c.counter + 1
    RETURNING c.jurisdiction_id, c.counter
  LOOP
    PERFORM pg_notify('jurisdiction_changes', j.jurisdiction_id || ' ' || j.counter);
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER permits_changes_insert AFTER INSERT ON permits
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION jurisdiction_changes_bump();
--> statement-breakpoint
CREATE TRIGGER permits_changes_update AFTER UPDATE ON permits
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION jurisdiction_changes_bump();
--> statement-breakpoint
CREATE TRIGGER permits_changes_delete AFTER DELETE ON permits
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION jurisdiction_changes_bump();
--> statement-breakpoint
CREATE TRIGGER parcels_changes_insert AFTER INSERT ON parcels
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION jurisdiction_changes_bump();
--> statement-breakpoint
CREATE TRIGGER parcels_changes_update AFTER UPDATE ON parcels
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION jurisdiction_changes_bump();
--> statement-breakpoint
CREATE TRIGGER parcels_changes_delete AFTER DELETE ON parcels
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION jurisdiction_changes_bump();
