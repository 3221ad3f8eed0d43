CREATE TABLE "inspection_capacity" (
	"jurisdiction_id" text PRIMARY KEY NOT NULL,
	"inspectors" integer NOT NULL,
	"day_start" text NOT NULL,
	"day_end" text NOT NULL,
	"slot_minutes" integer NOT NULL,
	"workdays" text NOT NULL,
	"cutoff_hours" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inspection_holidays" (
	"jurisdiction_id" text NOT NULL,
	"day" date NOT NULL,
	"name" text NOT NULL,
	CONSTRAINT "inspection_holidays_jurisdiction_id_day_pk" PRIMARY KEY("jurisdiction_id","day")
);
--> statement-breakpoint
ALTER TABLE "inspections" ADD COLUMN "is_final" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "inspections" ADD COLUMN "is_reinspection" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "inspections" ADD COLUMN "assigned_inspector" text;--> statement-breakpoint
ALTER TABLE "inspections" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "inspections" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "inspection_capacity" ADD CONSTRAINT "inspection_capacity_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inspection_holidays" ADD CONSTRAINT "inspection_holidays_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;