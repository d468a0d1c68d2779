-- The rows a job's valSplit held out of its training version, stored so an evaluation can use them (issue 16).
ALTER TABLE "training_job" ADD COLUMN "heldOutObjectKey" TEXT;
ALTER TABLE "training_job" ADD COLUMN "heldOutRowCount" INTEGER;
