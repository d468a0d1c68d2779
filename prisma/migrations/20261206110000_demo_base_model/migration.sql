-- AlterTable
ALTER TABLE "base_model" ADD COLUMN     "demo" BOOLEAN NOT NULL DEFAULT false;
