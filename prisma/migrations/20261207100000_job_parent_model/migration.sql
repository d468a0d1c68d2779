-- A fine-tuning job may continue a fine-tuned model (SFT -> DPO, issue 15)
ALTER TABLE "training_job" ADD COLUMN "parentModelId" TEXT;

ALTER TABLE "training_job" ADD CONSTRAINT "training_job_parentModelId_fkey" FOREIGN KEY ("parentModelId") REFERENCES "fine_tuned_model"("id") ON DELETE SET NULL ON UPDATE CASCADE;
