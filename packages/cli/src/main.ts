/**
 * `npx crucible <command>`: one dispatcher for the admin commands (talk to the platform's database) and the training
 * core's commands (work on model directories and need no database). Each side is imported lazily so that
 * `crucible train` runs on a machine without Postgres and `crucible user create` does not load the training core.
 */
// The plain-Node helpers `npm start` uses, so both read .env the same way.
import { loadDotEnv } from '../../../scripts/lib.mjs';

const HELP = `crucible — self-hosted fine-tuning

Training core (no database needed):
  crucible train CONFIG.yaml [key=value ...]      fine-tune with a LLaMA-Factory style config
  crucible eval CONFIG.yaml [key=value ...]       generate for eval_dataset: predictions, BLEU-4, ROUGE (do_predict)
  crucible chat CONFIG.yaml | --model DIR [--adapter DIR] [--prompt TEXT]
  crucible export --model DIR [--adapter DIR] (--merge OUT | --gguf OUT.gguf [--type F32|F16|Q8_0] | --gguf-lora OUT.gguf)
  crucible init-model --arch qwen2|llama --layers N --hidden N [--intermediate N] [--heads N] [--kv-heads N] OUT

Administration (uses DATABASE_URL):
  crucible user create --email E --password P [--admin]   (--admin: an instance admin)
  crucible user promote|demote --email E                 instance admin: every workspace's billing, instance prices
  crucible workspace create --name N --slug S --owner E
  crucible key create --workspace S [--name N]

Fine-tuning (uses DATABASE_URL, REDIS_URL and the storage settings):
  crucible models import DIR (--workspace S | --instance) --name N   (--instance: every workspace may use it)
  crucible models seed-demo                        the first-run demo model (npm start runs it)
  crucible models download REPO [--source huggingface|modelscope] [--revision R] [--out DIR] [--workspace S --name N]
  crucible jobs list|get|create|cancel|events --workspace S ...   (crucible jobs help)
`;

const TRAINER_COMMANDS = new Set(['train', 'eval', 'chat', 'export', 'init-model']);
const ADMIN_COMMANDS = new Set(['user', 'workspace', 'key']);
const JOBS_COMMANDS = new Set(['jobs', 'models']);

/**
 * The settings of `npm start`: the repository's .env under the environment (the environment wins), so a command
 * acts on the install the console runs on (issue 13, finding 5: the CLI ignored .env and wrote into the default
 * database while the console used another).
 */
function useDotEnv(): void {
  for (const [k, v] of Object.entries(loadDotEnv())) if (process.env[k] === undefined) process.env[k] = v;
}

/** `postgres@127.0.0.1:5432/crucible`: where a command acts, without the password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'an unreadable DATABASE_URL';
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command ? 0 : 1;
  }
  useDotEnv();
  if (ADMIN_COMMANDS.has(command) || JOBS_COMMANDS.has(command)) {
    const url = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/crucible';
    process.stderr.write(`crucible: database ${describeDatabase(url)}\n`);
  }
  try {
    if (TRAINER_COMMANDS.has(command)) {
      const { runTrainerCli } = await import('@crucible/trainer/cli/index');
      return await runTrainerCli(argv);
    }
    if (ADMIN_COMMANDS.has(command)) {
      const { runAdminCommand } = await import('./admin/index');
      return await runAdminCommand(argv);
    }
    if (command === 'models' && argv[1] === 'download')
      return await (await import('./models/download')).modelsDownload(argv.slice(2));
    if (JOBS_COMMANDS.has(command)) {
      const { runJobsCommand } = await import('./jobs/index');
      return await runJobsCommand(argv);
    }
  } catch (error) {
    // Errors the commands raise on purpose carry a sentence for the user; anything else is a bug worth a stack.
    const err = error as Error & { code?: string };
    if (err?.code) {
      process.stderr.write(`crucible ${command}: ${err.message}\n`);
      return 1;
    }
    throw error;
  }
  process.stderr.write(`crucible: unknown command "${command}"\n\n${HELP}`);
  return 1;
}
