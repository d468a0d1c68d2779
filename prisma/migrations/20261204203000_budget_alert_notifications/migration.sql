-- AlterTable
ALTER TABLE "budget_alert" ADD COLUMN     "notifiedAt" TIMESTAMP(3),
ADD COLUMN     "notifyAttempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "notifyError" TEXT,
ADD COLUMN     "notifyLockedUntil" TIMESTAMP(3),
ADD COLUMN     "notifyStatus" TEXT NOT NULL DEFAULT 'pending',
ADD COLUMN     "recipients" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "budget_alert_notifyStatus_idx" ON "budget_alert"("notifyStatus");

-- Hand-written: alerts of earlier months were recorded before e-mail existed; telling admins now would be news about
-- a closed month, so they are marked skipped. This month's alerts stay pending and go out on the next billing run.
UPDATE "budget_alert"
SET "notifyStatus" = 'skipped',
    "notifyError" = 'Recorded before budget alert e-mails existed (an earlier month).'
WHERE "periodStart" < date_trunc('month', now() AT TIME ZONE 'UTC');
