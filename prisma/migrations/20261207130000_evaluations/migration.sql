-- CreateEnum
CREATE TYPE "EvaluationStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "evaluation" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "EvaluationStatus" NOT NULL DEFAULT 'queued',
    "datasetVersionId" TEXT,
    "trainingJobId" TEXT,
    "settings" JSONB NOT NULL,
    "criteria" JSONB NOT NULL,
    "evalId" TEXT,
    "dataSource" JSONB,
    "metadata" JSONB,
    "rowCount" INTEGER NOT NULL DEFAULT 0,
    "doneCount" INTEGER NOT NULL DEFAULT 0,
    "totalCount" INTEGER NOT NULL DEFAULT 0,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "cancelRequestedAt" TIMESTAMP(3),
    "queueJobId" TEXT,
    "workerId" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "evaluation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_model" (
    "id" TEXT NOT NULL,
    "evaluationId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "baseModelId" TEXT NOT NULL,
    "fineTunedModelId" TEXT,
    "name" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,

    CONSTRAINT "evaluation_model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_row" (
    "id" TEXT NOT NULL,
    "evaluationId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "messages" JSONB NOT NULL,
    "label" TEXT NOT NULL,
    "item" JSONB,

    CONSTRAINT "evaluation_row_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_output" (
    "id" TEXT NOT NULL,
    "evaluationId" TEXT NOT NULL,
    "modelIndex" INTEGER NOT NULL,
    "rowIndex" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "finishReason" TEXT,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "scores" JSONB NOT NULL,
    "details" JSONB,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_output_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_rating" (
    "id" TEXT NOT NULL,
    "evaluationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "rowIndex" INTEGER NOT NULL,
    "leftModel" INTEGER NOT NULL,
    "rightModel" INTEGER NOT NULL,
    "verdict" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ratedAt" TIMESTAMP(3),

    CONSTRAINT "evaluation_rating_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "eval_definition" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "dataSourceConfig" JSONB NOT NULL,
    "testingCriteria" JSONB NOT NULL,
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "eval_definition_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "evaluation_workspaceId_createdAt_idx" ON "evaluation"("workspaceId", "createdAt");

-- CreateIndex
CREATE INDEX "evaluation_evalId_idx" ON "evaluation"("evalId");

-- CreateIndex
CREATE UNIQUE INDEX "evaluation_model_evaluationId_index_key" ON "evaluation_model"("evaluationId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "evaluation_row_evaluationId_index_key" ON "evaluation_row"("evaluationId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "evaluation_output_evaluationId_modelIndex_rowIndex_key" ON "evaluation_output"("evaluationId", "modelIndex", "rowIndex");

-- CreateIndex
CREATE INDEX "evaluation_rating_evaluationId_userId_idx" ON "evaluation_rating"("evaluationId", "userId");

-- CreateIndex
CREATE INDEX "eval_definition_workspaceId_createdAt_idx" ON "eval_definition"("workspaceId", "createdAt");

-- AddForeignKey
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_evalId_fkey" FOREIGN KEY ("evalId") REFERENCES "eval_definition"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_model" ADD CONSTRAINT "evaluation_model_evaluationId_fkey" FOREIGN KEY ("evaluationId") REFERENCES "evaluation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_row" ADD CONSTRAINT "evaluation_row_evaluationId_fkey" FOREIGN KEY ("evaluationId") REFERENCES "evaluation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_output" ADD CONSTRAINT "evaluation_output_evaluationId_fkey" FOREIGN KEY ("evaluationId") REFERENCES "evaluation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_rating" ADD CONSTRAINT "evaluation_rating_evaluationId_fkey" FOREIGN KEY ("evaluationId") REFERENCES "evaluation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "eval_definition" ADD CONSTRAINT "eval_definition_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

