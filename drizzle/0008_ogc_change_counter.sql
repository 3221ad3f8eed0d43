CREATE TABLE "jurisdiction_changes" (
	"jurisdiction_id" text NOT NULL,
	"slot" integer NOT NULL,
	"counter" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "jurisdiction_changes_jurisdiction_id_slot_pk" PRIMARY KEY("jurisdiction_id","slot")
);
--> statement-breakpoint
ALTER TABLE "jurisdiction_changes" ADD CONSTRAINT "jurisdiction_changes_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
-- One bump per write statement and jurisdiction (statement-level, from the transition table), whoever writes:
-- the API, the CLI, imports; in the slot of the writing backend, so concurrent writers rarely wait for each other.
-- NOTIFY (sent at commit) tells servers to read the jurisdiction's counter again.
CREATE FUNCTION jurisdiction_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  j text;
BEGIN
  FOR j IN SELECT DISTINCT jurisdiction_id FROM changed_rows LOOP
    INSERT INTO jurisdiction_changes AS c (jurisdiction_id, slot, counter) VALUES (j, pg_backend_pid() % 32, 1)
    ON CONFLICT (jurisdiction_id, slot) DO UPDATE SET counter = c.counter + 1;
    PERFORM pg_notify('jurisdiction_changes', j);
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
