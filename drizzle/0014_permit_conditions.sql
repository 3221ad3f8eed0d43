CREATE TABLE "permit_conditions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"permit_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"description" text NOT NULL,
	"blocks" text[] NOT NULL,
	"state" text DEFAULT 'OPEN' NOT NULL,
	"response" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"answered_by" text,
	"answered_at" timestamp with time zone,
	"resolved_by" text,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "permit_conditions" ADD CONSTRAINT "permit_conditions_permit_id_permits_id_fk" FOREIGN KEY ("permit_id") REFERENCES "public"."permits"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "permit_conditions_permit_idx" ON "permit_conditions" USING btree ("permit_id","created_at");