-- Request logs (issue 16): a deployment may keep its chat requests and answers, OpenAI's `store: true` keeps one,
-- a rated playground turn is kept; the content lives beside the metering row and expires on its own.

-- CreateEnum
CREATE TYPE "RequestLogSource" AS ENUM ('deployment', 'store', 'playground');

-- CreateEnum
CREATE TYPE "RequestRating" AS ENUM ('up', 'down');

-- AlterTable
ALTER TABLE "deployment" ADD COLUMN     "logRequests" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "logRetentionDays" INTEGER NOT NULL DEFAULT 30;

-- CreateTable
CREATE TABLE "request_log_content" (
    "requestId" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "source" "RequestLogSource" NOT NULL,
    "messages" JSONB NOT NULL,
    "answer" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "searchText" TEXT NOT NULL,
    "rating" "RequestRating",
    "ratedById" TEXT,
    "ratedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "request_log_content_pkey" PRIMARY KEY ("requestId")
);

-- CreateIndex
CREATE INDEX "request_log_content_workspaceId_createdAt_idx" ON "request_log_content"("workspaceId", "createdAt");

-- CreateIndex
CREATE INDEX "request_log_content_expiresAt_idx" ON "request_log_content"("expiresAt");

-- AddForeignKey
ALTER TABLE "request_log_content" ADD CONSTRAINT "request_log_content_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "request_log"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "request_log_content" ADD CONSTRAINT "request_log_content_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
