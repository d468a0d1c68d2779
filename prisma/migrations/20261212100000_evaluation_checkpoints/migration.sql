-- AlterTable
ALTER TABLE "evaluation_model" ADD COLUMN     "checkpointJobId" TEXT,
ADD COLUMN     "checkpointStep" INTEGER;
