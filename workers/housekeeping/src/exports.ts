import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getPrisma } from '@crucible/db';
import { downloadPrefix, modelDir, type Storage, uploadDir, workspaceKey } from '@crucible/storage';
import { mergeAdapter, writeGgufModel } from '@crucible/trainer';

/**
 * Builds one ModelExport (issue 6, "Models: downloads"): what a user downloads that is not stored already.
 * - `safetensors` of a LoRA fine-tune: the adapter merged into its base (PEFT's merge_and_unload), in F32/BF16/F16,
 *   with the base's config and tokenizer: a directory Transformers loads with `from_pretrained`.
 * - `gguf` of a base, a full fine-tune or a LoRA fine-tune (merged first), in F32/F16/Q8_0: one file llama.cpp
 *   and Ollama load.
 * The files go to `workspaces/{ws}/exports/{exportId}/`; the row records where, how big, or why it failed.
 * It needs the training core's writers (merge, GGUF) and storage, not llama.cpp: it runs in the housekeeping worker
 * (it ran in the serving worker before issue 17).
 */

export class ExportError extends Error {
  constructor(
    readonly code: 'not_found' | 'not_exportable' | 'export_failed',
    message: string,
  ) {
    super(message);
  }
}

const PEFT_FILES = /^(adapter_config\.json|adapter_model\.safetensors)$/;

export type TExportDeps = { storage: Storage; cacheDir: string; workerId: string; log?: (m: string) => void };

export async function runModelExport(
  exportId: string,
  deps: TExportDeps,
): Promise<{ objectKey: string; size: bigint }> {
  const db = getPrisma();
  const row = await db.modelExport.findUnique({
    where: { id: exportId },
    include: { fineTunedModel: true, baseModel: true },
  });
  if (!row) throw new ExportError('not_found', `Export ${exportId} does not exist (deleted before a worker took it).`);
  if (row.status === 'succeeded' && row.objectKey) {
    return { objectKey: row.objectKey, size: row.sizeBytes ?? 0n }; // a duplicated delivery: already built
  }
  await db.modelExport.update({
    where: { id: row.id },
    data: { status: 'running', startedAt: new Date(), workerId: deps.workerId, errorCode: null, errorMessage: null },
  });
  mkdirSync(join(deps.cacheDir, 'exports'), { recursive: true });
  const work = mkdtempSync(join(deps.cacheDir, 'exports', `${row.id}-`));
  try {
    const out = join(work, 'out');
    mkdirSync(out);
    const ft = row.fineTunedModel;
    const dtype = row.dtype as 'F32' | 'BF16' | 'F16' | 'Q8_0';
    // The Hugging Face directory of what is exported, merged when it is a LoRA fine-tune.
    let source: string;
    let name: string;
    if (ft) {
      if (ft.deletedAt) throw new ExportError('not_found', `Model ${ft.name} was deleted.`);
      name = ft.name;
      if (ft.adapterObjectKey) {
        const base = await db.baseModel.findUniqueOrThrow({ where: { id: ft.baseModelId } });
        const baseDir = await modelDir(deps.storage, deps.cacheDir, {
          kind: 'bases',
          id: base.id,
          name: base.name,
          objectKey: base.objectKey,
          path: base.path,
        });
        const peft = join(work, 'peft');
        await downloadPrefix(deps.storage, ft.adapterObjectKey, peft, (k) => PEFT_FILES.test(k));
        // safetensors: the merged directory is the export; gguf: merged in F32, then converted (no double rounding)
        source = row.format === 'safetensors' ? out : join(work, 'merged');
        await mergeAdapter(baseDir.dir, peft, source, {
          dtype: row.format === 'safetensors' ? (dtype as 'F32' | 'BF16' | 'F16') : 'F32',
        });
        deps.log?.(`merged ${ft.name} into ${base.name}`);
      } else if (ft.mergedObjectKey) {
        if (row.format === 'safetensors') {
          throw new ExportError(
            'not_exportable',
            `${ft.name} is a full fine-tune: its safetensors are stored already.`,
          );
        }
        source = (
          await modelDir(deps.storage, deps.cacheDir, {
            kind: 'fine-tuned',
            id: ft.id,
            name: ft.name,
            objectKey: ft.mergedObjectKey,
          })
        ).dir;
      } else {
        throw new ExportError('not_exportable', `${ft.name} has neither an adapter nor weights stored.`);
      }
    } else if (row.baseModel) {
      const base = row.baseModel;
      name = base.name;
      if (row.format === 'safetensors') {
        throw new ExportError('not_exportable', `${base.name} is a base model: its safetensors are stored already.`);
      }
      source = (
        await modelDir(deps.storage, deps.cacheDir, {
          kind: 'bases',
          id: base.id,
          name: base.name,
          objectKey: base.objectKey,
          path: base.path,
        })
      ).dir;
    } else {
      throw new ExportError('not_found', `Export ${row.id} names no model.`);
    }
    if (row.format === 'gguf') {
      await writeGgufModel(source, join(out, `model-${dtype}.gguf`), dtype as 'F32' | 'F16' | 'Q8_0');
      deps.log?.(`wrote ${dtype} GGUF of ${name}`);
    }
    const prefix = workspaceKey(row.workspaceId, 'exports', row.id);
    const uploaded = await uploadDir(deps.storage, out, prefix);
    const size = uploaded.reduce((s, u) => s + BigInt(u.size), 0n);
    await db.modelExport.update({
      where: { id: row.id },
      data: { status: 'succeeded', objectKey: prefix, sizeBytes: size, finishedAt: new Date() },
    });
    return { objectKey: prefix, size };
  } catch (error) {
    const code = error instanceof ExportError ? error.code : 'export_failed';
    await db.modelExport
      .update({
        where: { id: row.id },
        data: {
          status: 'failed',
          finishedAt: new Date(),
          errorCode: code,
          errorMessage: (error as Error).message.slice(0, 1000),
        },
      })
      .catch(() => {});
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
