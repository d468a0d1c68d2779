-- CreateEnum
CREATE TYPE "BaseModelDownloadStatus" AS ENUM ('queued', 'downloading', 'storing', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "base_model_download" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "baseModelId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "repo" TEXT,
    "revision" TEXT,
    "path" TEXT,
    "objectKey" TEXT,
    "fileName" TEXT,
    "useToken" BOOLEAN NOT NULL DEFAULT false,
    "status" "BaseModelDownloadStatus" NOT NULL DEFAULT 'queued',
    "totalBytes" BIGINT NOT NULL DEFAULT 0,
    "doneBytes" BIGINT NOT NULL DEFAULT 0,
    "bytesPerSecond" DOUBLE PRECISION,
    "currentFile" TEXT,
    "commit" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "queueJobId" TEXT,
    "workerId" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "base_model_download_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workspace_secret" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "ciphertext" TEXT NOT NULL,
    "hint" TEXT NOT NULL,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "workspace_secret_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "base_model_download_baseModelId_key" ON "base_model_download"("baseModelId");

-- CreateIndex
CREATE INDEX "base_model_download_workspaceId_createdAt_idx" ON "base_model_download"("workspaceId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "workspace_secret_workspaceId_kind_key" ON "workspace_secret"("workspaceId", "kind");

-- AddForeignKey
ALTER TABLE "base_model_download" ADD CONSTRAINT "base_model_download_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "base_model_download" ADD CONSTRAINT "base_model_download_baseModelId_fkey" FOREIGN KEY ("baseModelId") REFERENCES "base_model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workspace_secret" ADD CONSTRAINT "workspace_secret_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
