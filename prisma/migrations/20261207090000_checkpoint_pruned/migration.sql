-- AlterTable
ALTER TABLE "checkpoint" ADD COLUMN "prunedAt" TIMESTAMP(3);
