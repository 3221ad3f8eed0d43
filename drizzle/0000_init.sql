CREATE TABLE "jurisdictions" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"permit_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "jurisdictions_permit_prefix_unique" UNIQUE("permit_prefix")
);
--> statement-breakpoint
CREATE TABLE "parcels" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"jurisdiction_id" text NOT NULL,
	"apn" text NOT NULL,
	"address" text NOT NULL,
	"zoning_code" text NOT NULL,
	"longitude" double precision NOT NULL,
	"latitude" double precision NOT NULL,
	"geometry" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zoning_codes" (
	"code" text PRIMARY KEY NOT NULL,
	"description" text NOT NULL,
	"category" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contractors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"jurisdiction_id" text NOT NULL,
	"license_number" text NOT NULL,
	"name" text NOT NULL,
	"license_status" text NOT NULL,
	"license_expires_on" date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "permit_number_counters" (
	"jurisdiction_id" text NOT NULL,
	"year" integer NOT NULL,
	"next" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "permit_status_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"permit_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"reason" text,
	"actor" text NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "permits" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"jurisdiction_id" text NOT NULL,
	"permit_num" text NOT NULL,
	"permit_type" text NOT NULL,
	"work_class" text NOT NULL,
	"description" text NOT NULL,
	"est_project_cost" numeric(14, 2) NOT NULL,
	"applicant_name" text NOT NULL,
	"applicant_email" text NOT NULL,
	"applicant_phone" text NOT NULL,
	"parcel_id" uuid NOT NULL,
	"contractor_id" uuid NOT NULL,
	"status_current" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"applied_date" timestamp with time zone DEFAULT now() NOT NULL,
	"issued_date" timestamp with time zone,
	"completed_date" timestamp with time zone,
	"status_date" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_by" text,
	"idempotency_key" text,
	"request_hash" text
);
--> statement-breakpoint
CREATE TABLE "inspection_checklist_items" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"inspection_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"item" text NOT NULL,
	"passed" boolean NOT NULL,
	"notes" text
);
--> statement-breakpoint
CREATE TABLE "inspections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"permit_id" uuid NOT NULL,
	"inspection_type" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"inspector" text,
	"result" text DEFAULT 'PENDING' NOT NULL,
	"notes" text,
	"recorded_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"requested_by" text,
	"idempotency_key" text,
	"request_hash" text
);
--> statement-breakpoint
CREATE TABLE "api_clients" (
	"client_id" text PRIMARY KEY NOT NULL,
	"secret_hash" text NOT NULL,
	"previous_secret_hash" text,
	"previous_secret_expires_at" timestamp with time zone,
	"role" text NOT NULL,
	"jurisdiction_id" text NOT NULL,
	"contractor_license" text,
	"cert_thumbprint" text,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_checkpoints" (
	"size" bigint PRIMARY KEY NOT NULL,
	"head_hash" text NOT NULL,
	"root_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"signature" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_entries" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"entry" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "parcels" ADD CONSTRAINT "parcels_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "parcels" ADD CONSTRAINT "parcels_zoning_code_zoning_codes_code_fk" FOREIGN KEY ("zoning_code") REFERENCES "public"."zoning_codes"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contractors" ADD CONSTRAINT "contractors_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permit_number_counters" ADD CONSTRAINT "permit_number_counters_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permit_status_history" ADD CONSTRAINT "permit_status_history_permit_id_permits_id_fk" FOREIGN KEY ("permit_id") REFERENCES "public"."permits"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permits" ADD CONSTRAINT "permits_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permits" ADD CONSTRAINT "permits_parcel_id_parcels_id_fk" FOREIGN KEY ("parcel_id") REFERENCES "public"."parcels"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permits" ADD CONSTRAINT "permits_contractor_id_contractors_id_fk" FOREIGN KEY ("contractor_id") REFERENCES "public"."contractors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inspection_checklist_items" ADD CONSTRAINT "inspection_checklist_items_inspection_id_inspections_id_fk" FOREIGN KEY ("inspection_id") REFERENCES "public"."inspections"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inspections" ADD CONSTRAINT "inspections_permit_id_permits_id_fk" FOREIGN KEY ("permit_id") REFERENCES "public"."permits"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_clients" ADD CONSTRAINT "api_clients_jurisdiction_id_jurisdictions_id_fk" FOREIGN KEY ("jurisdiction_id") REFERENCES "public"."jurisdictions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "parcels_jurisdiction_apn_uq" ON "parcels" USING btree ("jurisdiction_id","apn");--> statement-breakpoint
CREATE INDEX "parcels_bbox_idx" ON "parcels" USING btree ("jurisdiction_id","longitude","latitude");--> statement-breakpoint
CREATE UNIQUE INDEX "contractors_jurisdiction_license_uq" ON "contractors" USING btree ("jurisdiction_id","license_number");--> statement-breakpoint
CREATE UNIQUE INDEX "permit_number_counters_pk" ON "permit_number_counters" USING btree ("jurisdiction_id","year");--> statement-breakpoint
CREATE INDEX "permit_status_history_permit_idx" ON "permit_status_history" USING btree ("permit_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "permits_jurisdiction_num_uq" ON "permits" USING btree ("jurisdiction_id","permit_num");--> statement-breakpoint
CREATE UNIQUE INDEX "permits_idempotency_uq" ON "permits" USING btree ("submitted_by","idempotency_key");--> statement-breakpoint
CREATE INDEX "permits_jurisdiction_updated_idx" ON "permits" USING btree ("jurisdiction_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "permits_jurisdiction_status_idx" ON "permits" USING btree ("jurisdiction_id","status_current");--> statement-breakpoint
CREATE INDEX "permits_jurisdiction_type_idx" ON "permits" USING btree ("jurisdiction_id","permit_type");--> statement-breakpoint
CREATE INDEX "permits_contractor_idx" ON "permits" USING btree ("contractor_id");--> statement-breakpoint
CREATE INDEX "permits_parcel_idx" ON "permits" USING btree ("parcel_id");--> statement-breakpoint
CREATE INDEX "inspection_checklist_inspection_idx" ON "inspection_checklist_items" USING btree ("inspection_id","position");--> statement-breakpoint
CREATE INDEX "inspections_permit_idx" ON "inspections" USING btree ("permit_id","window_start");--> statement-breakpoint
CREATE UNIQUE INDEX "inspections_idempotency_uq" ON "inspections" USING btree ("requested_by","idempotency_key");--> statement-breakpoint
CREATE INDEX "api_clients_status_idx" ON "api_clients" USING btree ("status");--> statement-breakpoint
CREATE INDEX "audit_entries_created_idx" ON "audit_entries" USING btree ("created_at");