CREATE TABLE "audit_cosignatures" (
	"tree_size" bigint NOT NULL,
	"root_hash" text NOT NULL,
	"witness" text NOT NULL,
	"line" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audit_cosignatures_tree_size_root_hash_witness_pk" PRIMARY KEY("tree_size","root_hash","witness")
);
