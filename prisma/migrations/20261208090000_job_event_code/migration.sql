-- AlterTable: job events as a stable code + parameters (issue 13, item 11)
ALTER TABLE "job_event" ADD COLUMN "code" TEXT,
ADD COLUMN "params" JSONB;
