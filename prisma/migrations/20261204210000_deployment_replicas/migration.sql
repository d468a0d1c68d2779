-- CreateEnum
CREATE TYPE "ReplicaStatus" AS ENUM ('pending', 'loading', 'ready', 'unhealthy', 'failed');

-- CreateTable
CREATE TABLE "deployment_replica" (
    "id" TEXT NOT NULL,
    "deploymentId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "workerId" TEXT,
    "status" "ReplicaStatus" NOT NULL DEFAULT 'pending',
    "endpoint" TEXT,
    "startedAt" TIMESTAMP(3),
    "lastHealthAt" TIMESTAMP(3),
    "healthFailures" INTEGER NOT NULL DEFAULT 0,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "deployment_replica_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "deployment_replica_workerId_idx" ON "deployment_replica"("workerId");

-- CreateIndex
CREATE UNIQUE INDEX "deployment_replica_deploymentId_index_key" ON "deployment_replica"("deploymentId", "index");

-- AddForeignKey
ALTER TABLE "deployment_replica" ADD CONSTRAINT "deployment_replica_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

