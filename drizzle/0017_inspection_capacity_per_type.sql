-- Capacity per inspection type (issue 24): the jurisdiction's row keeps the empty type and stays its default.
-- drizzle-kit cannot name the old primary key; PostgreSQL called it inspection_capacity_pkey.
ALTER TABLE "inspection_capacity" ADD COLUMN "inspection_type" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "inspection_capacity" DROP CONSTRAINT "inspection_capacity_pkey";--> statement-breakpoint
ALTER TABLE "inspection_capacity" ADD CONSTRAINT "inspection_capacity_jurisdiction_id_inspection_type_pk" PRIMARY KEY("jurisdiction_id","inspection_type");
