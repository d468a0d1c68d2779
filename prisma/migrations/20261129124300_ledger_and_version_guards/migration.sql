-- Guards the Prisma schema cannot express. Hand-written; Prisma does not model triggers, so `migrate dev` never
-- reports them as drift. (Function bodies contain ";": packages/db/prisma.config.ts runs a script in one query.)

-- The usage ledger is append-only (issue 7): a line is never changed, and deleted only when its whole workspace is
-- (ON DELETE CASCADE removes the workspace row first, so the check below sees it gone).
CREATE FUNCTION crucible_usage_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM "workspace" WHERE "id" = OLD."workspaceId") THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'usage_record is an append-only ledger: % refused (record a correcting line instead)', TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER usage_record_append_only
  BEFORE UPDATE OR DELETE ON "usage_record"
  FOR EACH ROW EXECUTE FUNCTION crucible_usage_record_append_only();

-- A published dataset version is immutable (issue 4): its content and identity never change and it is never
-- unpublished. Statistics and token counts may still be filled in (they describe, they do not define, the data).
CREATE FUNCTION crucible_dataset_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."status" = 'published' AND (
       NEW."status" IS DISTINCT FROM OLD."status"
    OR NEW."datasetId" IS DISTINCT FROM OLD."datasetId"
    OR NEW."workspaceId" IS DISTINCT FROM OLD."workspaceId"
    OR NEW."number" IS DISTINCT FROM OLD."number"
    OR NEW."format" IS DISTINCT FROM OLD."format"
    OR NEW."objectKey" IS DISTINCT FROM OLD."objectKey"
    OR NEW."originalObjectKey" IS DISTINCT FROM OLD."originalObjectKey"
    OR NEW."sha256" IS DISTINCT FROM OLD."sha256"
    OR NEW."sizeBytes" IS DISTINCT FROM OLD."sizeBytes"
    OR NEW."rowCount" IS DISTINCT FROM OLD."rowCount"
    OR NEW."publishedAt" IS DISTINCT FROM OLD."publishedAt"
  ) THEN
    RAISE EXCEPTION 'dataset_version % is published and immutable: create a new version instead', OLD."id"
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER dataset_version_immutable
  BEFORE UPDATE ON "dataset_version"
  FOR EACH ROW EXECUTE FUNCTION crucible_dataset_version_immutable();
