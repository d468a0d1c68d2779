import { resolve } from 'node:path';
import { parseFlags, UsageError } from '../admin/args';
import { processIo, type TIo } from '../admin/io';

export const DOWNLOAD_USAGE = `usage:
  crucible models download REPO [--source huggingface|modelscope] [--revision R] [--out DIR]
                                [--workspace S --name N] [--include GLOB,GLOB...]
  Tokens: HF_TOKEN (Hugging Face), MODELSCOPE_API_TOKEN (ModelScope). Mirrors: HF_ENDPOINT, MODELSCOPE_ENDPOINT.
`;

const mb = (n: number) => (n / 1e6).toFixed(1);

/**
 * `crucible models download REPO`: fetches a model from Hugging Face or ModelScope into a folder (resumable: run it
 * again after an interruption) and, with --workspace, registers that folder as a base model through
 * `crucible models import`. Needs no database unless --workspace is given. Progress goes to stderr.
 */
export async function modelsDownload(args: string[], io: TIo = processIo): Promise<number> {
  const [repo, ...rest] = args;
  try {
    if (!repo || repo.startsWith('--')) throw new UsageError('the repo id (owner/name) is required');
    const flags = parseFlags(rest, ['source', 'revision', 'out', 'workspace', 'name', 'include', 'endpoint']);
    const source = flags.source ?? 'huggingface';
    if (source !== 'huggingface' && source !== 'modelscope') {
      throw new UsageError('--source must be huggingface or modelscope');
    }
    if (flags.name && !flags.workspace) throw new UsageError('--name goes with --workspace');
    const out = resolve(flags.out ?? `models/${repo.replace(/\//g, '--')}`);
    const { downloadModel } = await import('@crucible/trainer/hub/index');

    // One line per file; on a terminal the line is redrawn in place, elsewhere (logs) a line every few seconds.
    const tty = process.stderr.isTTY && io === processIo;
    let last = 0;
    const result = await downloadModel({
      repo,
      source,
      revision: flags.revision,
      endpoint: flags.endpoint,
      outDir: out,
      allowPatterns: flags.include
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      onProgress: (p) => {
        const head = `[${p.fileIndex + 1}/${p.fileCount}] ${p.file}`;
        if (p.phase === 'skipped') io.err(`${head}: already downloaded\n`);
        else if (p.phase === 'done') io.err(`${tty ? '\r' : ''}${head}: ${mb(p.fileBytes)} MB done\n`);
        else if (p.phase === 'progress' && Date.now() - last > (tty ? 200 : 5000)) {
          last = Date.now();
          const size = p.fileSize ? `/${mb(p.fileSize)} MB` : ' MB';
          const all = p.totalBytes ? ` (total ${Math.floor((100 * p.doneBytes) / p.totalBytes)}%)` : '';
          io.err(`${tty ? '\r' : ''}${head}: ${mb(p.fileBytes)}${size}${all}${tty ? '' : '\n'}`);
        }
      },
    });
    io.err(
      `downloaded ${repo}@${result.revision}${result.commit ? ` (commit ${result.commit.slice(0, 12)})` : ''}: ` +
        `${result.files.length} files, ${mb(result.downloadedBytes)} MB fetched\n`,
    );
    io.out(`${result.dir}\n`);
    if (!flags.workspace) return 0;
    const name =
      flags.name ??
      repo
        .split('/')
        .pop()
        ?.replace(/[^A-Za-z0-9._-]/g, '-') ??
      repo;
    const { runJobsCommand } = await import('../jobs/index');
    return await runJobsCommand(['models', 'import', result.dir, '--workspace', flags.workspace, '--name', name], io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`crucible models download: ${error.message}\n${DOWNLOAD_USAGE}`);
      return 2;
    }
    const e = error as Error & { code?: string; name?: string };
    if (e?.name === 'HubError') {
      io.err(`crucible models download: ${e.message} [${e.code}]\n`);
      return 1;
    }
    throw error;
  }
}
