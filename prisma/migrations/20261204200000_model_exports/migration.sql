-- CreateEnum
CREATE TYPE "ModelExportStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "model_export" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "fineTunedModelId" TEXT,
    "baseModelId" TEXT,
    "format" TEXT NOT NULL,
    "dtype" TEXT NOT NULL,
    "status" "ModelExportStatus" NOT NULL DEFAULT 'queued',
    "objectKey" TEXT,
    "sizeBytes" BIGINT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "workerId" TEXT,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "model_export_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "model_export_fineTunedModelId_idx" ON "model_export"("fineTunedModelId");

-- CreateIndex
CREATE INDEX "model_export_baseModelId_idx" ON "model_export"("baseModelId");

-- CreateIndex
CREATE UNIQUE INDEX "model_export_workspaceId_subject_format_dtype_key" ON "model_export"("workspaceId", "subject", "format", "dtype");

-- AddForeignKey
ALTER TABLE "model_export" ADD CONSTRAINT "model_export_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_export" ADD CONSTRAINT "model_export_fineTunedModelId_fkey" FOREIGN KEY ("fineTunedModelId") REFERENCES "fine_tuned_model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_export" ADD CONSTRAINT "model_export_baseModelId_fkey" FOREIGN KEY ("baseModelId") REFERENCES "base_model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

