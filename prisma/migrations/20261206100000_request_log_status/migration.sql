-- CreateEnum
CREATE TYPE "RequestStatus" AS ENUM ('accepted', 'completed', 'cancelled', 'failed');

-- AlterTable
ALTER TABLE "request_log" ADD COLUMN     "errorCode" TEXT,
ADD COLUMN     "finishReason" TEXT,
ADD COLUMN     "status" "RequestStatus" NOT NULL DEFAULT 'completed';
