ALTER TABLE "webhook_deliveries" ADD COLUMN "retry_from" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
-- deliveries queued before this column kept their window from when they were queued
UPDATE "webhook_deliveries" SET "retry_from" = "created_at";
