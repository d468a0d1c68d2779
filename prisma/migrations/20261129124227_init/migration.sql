-- CreateEnum
CREATE TYPE "DatasetVersionStatus" AS ENUM ('draft', 'published');

-- CreateEnum
CREATE TYPE "ModelSource" AS ENUM ('builtin', 'local', 'huggingface', 'modelscope', 'upload');

-- CreateEnum
CREATE TYPE "TrainingJobStatus" AS ENUM ('validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "JobEventLevel" AS ENUM ('info', 'warn', 'error');

-- CreateEnum
CREATE TYPE "DeploymentStatus" AS ENUM ('deploying', 'running', 'stopped', 'failed');

-- CreateEnum
CREATE TYPE "UsageCategory" AS ENUM ('training', 'inference', 'deployment', 'storage');

-- CreateTable
CREATE TABLE "user" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "emailVerified" BOOLEAN NOT NULL DEFAULT false,
    "image" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locale" TEXT NOT NULL DEFAULT 'en',
    "role" TEXT DEFAULT 'user',

    CONSTRAINT "user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "token" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "userId" TEXT NOT NULL,
    "activeOrganizationId" TEXT,

    CONSTRAINT "session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "id" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "accessToken" TEXT,
    "refreshToken" TEXT,
    "idToken" TEXT,
    "accessTokenExpiresAt" TIMESTAMP(3),
    "refreshTokenExpiresAt" TIMESTAMP(3),
    "scope" TEXT,
    "password" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verification" (
    "id" TEXT NOT NULL,
    "identifier" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "verification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workspace" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "logo" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "metadata" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workspace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "member" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT 'viewer',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "member_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invitation" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "role" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "inviterId" TEXT NOT NULL,

    CONSTRAINT "invitation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "apikey" (
    "id" TEXT NOT NULL,
    "configId" TEXT NOT NULL DEFAULT 'default',
    "name" TEXT,
    "start" TEXT,
    "referenceId" TEXT NOT NULL,
    "prefix" TEXT,
    "key" TEXT NOT NULL,
    "refillInterval" INTEGER,
    "refillAmount" INTEGER,
    "lastRefillAt" TIMESTAMP(3),
    "enabled" BOOLEAN DEFAULT true,
    "rateLimitEnabled" BOOLEAN DEFAULT true,
    "rateLimitTimeWindow" INTEGER DEFAULT 86400000,
    "rateLimitMax" INTEGER DEFAULT 10,
    "requestCount" INTEGER DEFAULT 0,
    "remaining" INTEGER,
    "lastRequest" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "permissions" TEXT,
    "metadata" TEXT,

    CONSTRAINT "apikey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "purpose" TEXT NOT NULL DEFAULT 'fine-tune',
    "createdById" TEXT,
    "deletedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_version" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "status" "DatasetVersionStatus" NOT NULL DEFAULT 'draft',
    "format" TEXT NOT NULL,
    "sourceFormat" TEXT,
    "objectKey" TEXT NOT NULL,
    "originalObjectKey" TEXT,
    "originalFilename" TEXT,
    "sizeBytes" BIGINT,
    "sha256" TEXT NOT NULL,
    "rowCount" INTEGER NOT NULL DEFAULT 0,
    "tokenCount" BIGINT,
    "tokenizer" TEXT,
    "stats" JSONB,
    "validationReport" JSONB,
    "errorCount" INTEGER NOT NULL DEFAULT 0,
    "parentVersionId" TEXT,
    "createdById" TEXT,
    "publishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dataset_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "base_model" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT,
    "name" TEXT NOT NULL,
    "displayName" TEXT,
    "arch" TEXT NOT NULL,
    "source" "ModelSource" NOT NULL DEFAULT 'local',
    "sourceRef" TEXT,
    "revision" TEXT,
    "path" TEXT,
    "objectKey" TEXT,
    "ggufObjectKey" TEXT,
    "status" TEXT NOT NULL DEFAULT 'ready',
    "config" JSONB,
    "parameterCount" BIGINT,
    "sizeBytes" BIGINT,
    "contextLength" INTEGER,
    "chatTemplate" TEXT,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "base_model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "training_job" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "baseModelId" TEXT NOT NULL,
    "trainingFileId" TEXT NOT NULL,
    "validationFileId" TEXT,
    "method" TEXT NOT NULL DEFAULT 'sft_lora',
    "hyperparameters" JSONB NOT NULL,
    "status" "TrainingJobStatus" NOT NULL DEFAULT 'validating_files',
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "errorParam" TEXT,
    "trainedTokens" BIGINT,
    "seed" INTEGER,
    "suffix" TEXT,
    "currentStep" INTEGER NOT NULL DEFAULT 0,
    "totalSteps" INTEGER,
    "estimatedCost" DECIMAL(20,8),
    "estimatedCurrency" TEXT,
    "queueJobId" TEXT,
    "workerId" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "cancelRequestedAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "estimatedFinishAt" TIMESTAMP(3),
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "training_job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "training_metric" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "epoch" DOUBLE PRECISION,
    "loss" DOUBLE PRECISION,
    "evalLoss" DOUBLE PRECISION,
    "learningRate" DOUBLE PRECISION,
    "gradNorm" DOUBLE PRECISION,
    "tokensPerSecond" DOUBLE PRECISION,
    "tokensSeen" BIGINT,
    "data" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "training_metric_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_event" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "level" "JobEventLevel" NOT NULL DEFAULT 'info',
    "type" TEXT NOT NULL DEFAULT 'message',
    "message" TEXT NOT NULL,
    "data" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "checkpoint" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "epoch" DOUBLE PRECISION,
    "objectKey" TEXT NOT NULL,
    "metrics" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "fine_tuned_model" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "displayName" TEXT,
    "baseModelId" TEXT NOT NULL,
    "jobId" TEXT,
    "datasetVersionId" TEXT,
    "method" TEXT,
    "hyperparameters" JSONB,
    "trainLoss" DOUBLE PRECISION,
    "evalLoss" DOUBLE PRECISION,
    "adapterObjectKey" TEXT,
    "ggufAdapterObjectKey" TEXT,
    "mergedObjectKey" TEXT,
    "card" TEXT,
    "deletedAt" TIMESTAMP(3),
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "fine_tuned_model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "fineTunedModelId" TEXT,
    "baseModelId" TEXT,
    "status" "DeploymentStatus" NOT NULL DEFAULT 'deploying',
    "replicas" INTEGER NOT NULL DEFAULT 1,
    "contextSize" INTEGER NOT NULL DEFAULT 4096,
    "workerClass" TEXT,
    "workerId" TEXT,
    "endpoint" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "startedAt" TIMESTAMP(3),
    "stoppedAt" TIMESTAMP(3),
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "request_log" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "deploymentId" TEXT,
    "model" TEXT NOT NULL,
    "apiKeyId" TEXT,
    "userId" TEXT,
    "endpoint" TEXT NOT NULL,
    "statusCode" INTEGER NOT NULL,
    "stream" BOOLEAN NOT NULL DEFAULT false,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "latencyMs" INTEGER,
    "timeToFirstTokenMs" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "request_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_record" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "category" "UsageCategory" NOT NULL,
    "meter" TEXT NOT NULL,
    "quantity" DECIMAL(24,8) NOT NULL,
    "unit" TEXT NOT NULL,
    "unitPrice" DECIMAL(24,10),
    "amount" DECIMAL(24,10) NOT NULL,
    "currency" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "priceItemId" TEXT,
    "jobId" TEXT,
    "deploymentId" TEXT,
    "modelId" TEXT,
    "apiKeyId" TEXT,
    "userId" TEXT,
    "description" TEXT,
    "metadata" JSONB,
    "occurredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_record_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "price_list" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT,
    "name" TEXT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "effectiveFrom" TIMESTAMP(3) NOT NULL,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "price_list_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "price_item" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT,
    "priceListId" TEXT NOT NULL,
    "category" "UsageCategory" NOT NULL,
    "meter" TEXT NOT NULL,
    "modelRef" TEXT,
    "method" TEXT,
    "workerClass" TEXT,
    "unit" TEXT NOT NULL,
    "unitPrice" DECIMAL(24,10) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "price_item_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "budget" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "period" TEXT NOT NULL DEFAULT 'monthly',
    "amount" DECIMAL(24,10) NOT NULL,
    "currency" TEXT NOT NULL,
    "thresholds" INTEGER[] DEFAULT ARRAY[50, 80, 100]::INTEGER[],
    "hardLimit" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "budget_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "budget_alert" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "budgetId" TEXT NOT NULL,
    "threshold" INTEGER NOT NULL,
    "periodStart" TIMESTAMP(3) NOT NULL,
    "spent" DECIMAL(24,10) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "budget_alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT,
    "actorUserId" TEXT,
    "actorApiKeyId" TEXT,
    "action" TEXT NOT NULL,
    "targetType" TEXT,
    "targetId" TEXT,
    "data" JSONB,
    "ip" TEXT,
    "userAgent" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "user_email_key" ON "user"("email");

-- CreateIndex
CREATE UNIQUE INDEX "session_token_key" ON "session"("token");

-- CreateIndex
CREATE INDEX "session_userId_idx" ON "session"("userId");

-- CreateIndex
CREATE INDEX "account_userId_idx" ON "account"("userId");

-- CreateIndex
CREATE INDEX "verification_identifier_idx" ON "verification"("identifier");

-- CreateIndex
CREATE UNIQUE INDEX "workspace_slug_key" ON "workspace"("slug");

-- CreateIndex
CREATE INDEX "member_organizationId_idx" ON "member"("organizationId");

-- CreateIndex
CREATE INDEX "member_userId_idx" ON "member"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "member_organizationId_userId_key" ON "member"("organizationId", "userId");

-- CreateIndex
CREATE INDEX "invitation_organizationId_idx" ON "invitation"("organizationId");

-- CreateIndex
CREATE INDEX "invitation_email_idx" ON "invitation"("email");

-- CreateIndex
CREATE INDEX "apikey_configId_idx" ON "apikey"("configId");

-- CreateIndex
CREATE INDEX "apikey_referenceId_idx" ON "apikey"("referenceId");

-- CreateIndex
CREATE INDEX "apikey_key_idx" ON "apikey"("key");

-- CreateIndex
CREATE INDEX "dataset_workspaceId_idx" ON "dataset"("workspaceId");

-- CreateIndex
CREATE INDEX "dataset_workspaceId_name_idx" ON "dataset"("workspaceId", "name");

-- CreateIndex
CREATE INDEX "dataset_version_workspaceId_idx" ON "dataset_version"("workspaceId");

-- CreateIndex
CREATE INDEX "dataset_version_datasetId_idx" ON "dataset_version"("datasetId");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_version_datasetId_number_key" ON "dataset_version"("datasetId", "number");

-- CreateIndex
CREATE INDEX "base_model_workspaceId_idx" ON "base_model"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "base_model_workspaceId_name_key" ON "base_model"("workspaceId", "name");

-- CreateIndex
CREATE INDEX "training_job_workspaceId_idx" ON "training_job"("workspaceId");

-- CreateIndex
CREATE INDEX "training_job_workspaceId_createdAt_idx" ON "training_job"("workspaceId", "createdAt");

-- CreateIndex
CREATE INDEX "training_job_status_idx" ON "training_job"("status");

-- CreateIndex
CREATE INDEX "training_metric_workspaceId_idx" ON "training_metric"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "training_metric_jobId_step_key" ON "training_metric"("jobId", "step");

-- CreateIndex
CREATE INDEX "job_event_workspaceId_idx" ON "job_event"("workspaceId");

-- CreateIndex
CREATE INDEX "job_event_jobId_createdAt_idx" ON "job_event"("jobId", "createdAt");

-- CreateIndex
CREATE INDEX "checkpoint_workspaceId_idx" ON "checkpoint"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "checkpoint_jobId_step_key" ON "checkpoint"("jobId", "step");

-- CreateIndex
CREATE UNIQUE INDEX "fine_tuned_model_jobId_key" ON "fine_tuned_model"("jobId");

-- CreateIndex
CREATE INDEX "fine_tuned_model_workspaceId_idx" ON "fine_tuned_model"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "fine_tuned_model_workspaceId_name_key" ON "fine_tuned_model"("workspaceId", "name");

-- CreateIndex
CREATE INDEX "deployment_workspaceId_idx" ON "deployment"("workspaceId");

-- CreateIndex
CREATE INDEX "deployment_status_idx" ON "deployment"("status");

-- CreateIndex
CREATE UNIQUE INDEX "deployment_workspaceId_name_key" ON "deployment"("workspaceId", "name");

-- CreateIndex
CREATE INDEX "request_log_workspaceId_createdAt_idx" ON "request_log"("workspaceId", "createdAt");

-- CreateIndex
CREATE INDEX "request_log_deploymentId_createdAt_idx" ON "request_log"("deploymentId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "usage_record_idempotencyKey_key" ON "usage_record"("idempotencyKey");

-- CreateIndex
CREATE INDEX "usage_record_workspaceId_occurredAt_idx" ON "usage_record"("workspaceId", "occurredAt");

-- CreateIndex
CREATE INDEX "usage_record_workspaceId_category_occurredAt_idx" ON "usage_record"("workspaceId", "category", "occurredAt");

-- CreateIndex
CREATE INDEX "usage_record_jobId_idx" ON "usage_record"("jobId");

-- CreateIndex
CREATE INDEX "usage_record_deploymentId_idx" ON "usage_record"("deploymentId");

-- CreateIndex
CREATE INDEX "price_list_workspaceId_effectiveFrom_idx" ON "price_list"("workspaceId", "effectiveFrom");

-- CreateIndex
CREATE INDEX "price_item_priceListId_idx" ON "price_item"("priceListId");

-- CreateIndex
CREATE INDEX "price_item_workspaceId_idx" ON "price_item"("workspaceId");

-- CreateIndex
CREATE INDEX "budget_workspaceId_idx" ON "budget"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "budget_workspaceId_period_key" ON "budget"("workspaceId", "period");

-- CreateIndex
CREATE INDEX "budget_alert_workspaceId_idx" ON "budget_alert"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "budget_alert_budgetId_threshold_periodStart_key" ON "budget_alert"("budgetId", "threshold", "periodStart");

-- CreateIndex
CREATE INDEX "audit_log_workspaceId_createdAt_idx" ON "audit_log"("workspaceId", "createdAt");

-- CreateIndex
CREATE INDEX "audit_log_actorUserId_idx" ON "audit_log"("actorUserId");

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account" ADD CONSTRAINT "account_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member" ADD CONSTRAINT "member_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member" ADD CONSTRAINT "member_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invitation" ADD CONSTRAINT "invitation_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invitation" ADD CONSTRAINT "invitation_inviterId_fkey" FOREIGN KEY ("inviterId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset" ADD CONSTRAINT "dataset_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset" ADD CONSTRAINT "dataset_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_version" ADD CONSTRAINT "dataset_version_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_version" ADD CONSTRAINT "dataset_version_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_version" ADD CONSTRAINT "dataset_version_parentVersionId_fkey" FOREIGN KEY ("parentVersionId") REFERENCES "dataset_version"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_version" ADD CONSTRAINT "dataset_version_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "base_model" ADD CONSTRAINT "base_model_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_job" ADD CONSTRAINT "training_job_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_job" ADD CONSTRAINT "training_job_baseModelId_fkey" FOREIGN KEY ("baseModelId") REFERENCES "base_model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_job" ADD CONSTRAINT "training_job_trainingFileId_fkey" FOREIGN KEY ("trainingFileId") REFERENCES "dataset_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_job" ADD CONSTRAINT "training_job_validationFileId_fkey" FOREIGN KEY ("validationFileId") REFERENCES "dataset_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_job" ADD CONSTRAINT "training_job_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_metric" ADD CONSTRAINT "training_metric_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_metric" ADD CONSTRAINT "training_metric_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "training_job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_event" ADD CONSTRAINT "job_event_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_event" ADD CONSTRAINT "job_event_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "training_job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoint" ADD CONSTRAINT "checkpoint_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoint" ADD CONSTRAINT "checkpoint_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "training_job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuned_model" ADD CONSTRAINT "fine_tuned_model_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuned_model" ADD CONSTRAINT "fine_tuned_model_baseModelId_fkey" FOREIGN KEY ("baseModelId") REFERENCES "base_model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuned_model" ADD CONSTRAINT "fine_tuned_model_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "training_job"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuned_model" ADD CONSTRAINT "fine_tuned_model_datasetVersionId_fkey" FOREIGN KEY ("datasetVersionId") REFERENCES "dataset_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuned_model" ADD CONSTRAINT "fine_tuned_model_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_fineTunedModelId_fkey" FOREIGN KEY ("fineTunedModelId") REFERENCES "fine_tuned_model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_baseModelId_fkey" FOREIGN KEY ("baseModelId") REFERENCES "base_model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "request_log" ADD CONSTRAINT "request_log_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_record" ADD CONSTRAINT "usage_record_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_list" ADD CONSTRAINT "price_list_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_item" ADD CONSTRAINT "price_item_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_item" ADD CONSTRAINT "price_item_priceListId_fkey" FOREIGN KEY ("priceListId") REFERENCES "price_list"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "budget" ADD CONSTRAINT "budget_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "budget_alert" ADD CONSTRAINT "budget_alert_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "budget_alert" ADD CONSTRAINT "budget_alert_budgetId_fkey" FOREIGN KEY ("budgetId") REFERENCES "budget"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_actorUserId_fkey" FOREIGN KEY ("actorUserId") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;
