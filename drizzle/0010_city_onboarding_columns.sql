ALTER TABLE "jurisdictions" ADD COLUMN "state" text;--> statement-breakpoint
ALTER TABLE "jurisdictions" ADD COLUMN "timezone" text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "address1" text;--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "address2" text;--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "city" text;--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "state" text;--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "zip" text;