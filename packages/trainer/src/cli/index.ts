/**
 * The training core's commands behind `npx crucible` (packages/cli dispatches here): train, eval, chat, init-model,
 * export.
 * Errors raised on purpose (they carry a `code`) become one sentence on stderr and exit code 1; anything else is a
 * bug and keeps its stack.
 */
const USAGE = `usage:
  crucible train CONFIG.yaml [key=value ...]
  crucible eval CONFIG.yaml [key=value ...]
  crucible chat CONFIG.yaml [key=value ...] | crucible chat --model DIR [--adapter DIR] [--prompt TEXT]
  crucible init-model --arch qwen2|llama --layers N --hidden N ... OUT
  crucible export --model DIR [--adapter DIR] ...`;

export async function runTrainerCli(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'train': {
        const { trainCommand } = await import('./train');
        return await trainCommand(args);
      }
      case 'eval': {
        const { evalCommand } = await import('./eval');
        return await evalCommand(args);
      }
      case 'chat': {
        const { chatCommand } = await import('./chat');
        return await chatCommand(args);
      }
      case 'init-model': {
        const { initModelCommand } = await import('./init-model');
        return await initModelCommand(args);
      }
      case 'export': {
        const { exportCommand } = await import('./export');
        return await exportCommand(args);
      }
      default:
        process.stderr.write(`crucible: unknown trainer command "${command ?? ''}"\n${USAGE}\n`);
        return 1;
    }
  } catch (error) {
    const err = error as Error & { code?: string };
    if (typeof err?.code === 'string' && err.name !== 'Error') {
      process.stderr.write(`crucible ${command}: ${err.message}\n`);
      return 1;
    }
    throw error;
  }
}
