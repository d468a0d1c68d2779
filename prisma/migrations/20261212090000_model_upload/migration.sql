-- CreateTable
CREATE TABLE "model_upload" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "objectKey" TEXT NOT NULL,
    "fileName" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "partSize" INTEGER NOT NULL,
    "storageUploadId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'uploading',
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "model_upload_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "model_upload_workspaceId_createdAt_idx" ON "model_upload"("workspaceId", "createdAt");

-- AddForeignKey
ALTER TABLE "model_upload" ADD CONSTRAINT "model_upload_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
