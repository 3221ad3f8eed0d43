ALTER TABLE "permits" ADD COLUMN "expires_date" date;--> statement-breakpoint
ALTER TABLE "permits" ADD COLUMN "total_sq_ft" integer;--> statement-breakpoint
ALTER TABLE "permits" ADD COLUMN "housing_units" integer;--> statement-breakpoint
ALTER TABLE "permits" ADD COLUMN "master_permit_num" text;