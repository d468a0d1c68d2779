-- CreateEnum
CREATE TYPE "DatasetImportStatus" AS ENUM ('validating', 'succeeded', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "dataset_import" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "objectKey" TEXT NOT NULL,
    "fileName" TEXT NOT NULL,
    "options" JSONB NOT NULL DEFAULT '{}',
    "status" "DatasetImportStatus" NOT NULL DEFAULT 'validating',
    "totalBytes" BIGINT NOT NULL DEFAULT 0,
    "bytesRead" BIGINT NOT NULL DEFAULT 0,
    "rowsRead" INTEGER NOT NULL DEFAULT 0,
    "versionId" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "cancelRequestedAt" TIMESTAMP(3),
    "queueJobId" TEXT,
    "workerId" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdById" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dataset_import_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "dataset_import_versionId_key" ON "dataset_import"("versionId");

-- CreateIndex
CREATE INDEX "dataset_import_workspaceId_datasetId_startedAt_idx" ON "dataset_import"("workspaceId", "datasetId", "startedAt");

-- AddForeignKey
ALTER TABLE "dataset_import" ADD CONSTRAINT "dataset_import_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_import" ADD CONSTRAINT "dataset_import_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_import" ADD CONSTRAINT "dataset_import_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "dataset_version"("id") ON DELETE SET NULL ON UPDATE CASCADE;
