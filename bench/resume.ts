/**
 * Resume at full size (issue 12; too slow for npm test): a full fine-tune of a Qwen2.5-0.5B-shaped model is killed
 * with SIGKILL mid-run, after its checkpoint (~6 GB of train_state: every weight and both AdamW moments, fp32) is
 * written, and resumed from it; the losses of every step and the final weights must equal an uninterrupted run's bit
 * for bit. Prints the checkpoint size, how long it took to write and read, and the comparison.
 *
 *   npx tsx bench/resume.ts [--models /tmp/crucible-models] [--seq 128] [--steps 4] [--save 2]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initModel, MODEL_PRESETS } from '../packages/trainer/src/io/init-model';
import { readSafetensorsSync } from '../packages/trainer/src/io/safetensors';

const argv = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
};
const models = opt('models', '/tmp/crucible-models');
const seq = Number(opt('seq', '128'));
const steps = Number(opt('steps', '4'));
const save = Number(opt('save', '2'));
const repo = fileURLToPath(new URL('..', import.meta.url));
const say = (m: string) => process.stderr.write(`[resume] ${m}\n`);

function config(out: string, resume: boolean): string {
  const file = `${out}.yaml`;
  const cfg = {
    stage: 'sft',
    do_train: true,
    model_name_or_path: join(models, 'qwen2.5-0.5b-bf16'),
    finetuning_type: 'full',
    dataset: 'identity',
    dataset_dir: join(repo, 'fixtures/llamafactory'),
    template: 'qwen',
    cutoff_len: seq,
    output_dir: out,
    overwrite_output_dir: !resume,
    per_device_train_batch_size: 1,
    learning_rate: 1e-5,
    max_steps: steps,
    logging_steps: 1,
    save_steps: save,
    seed: 42,
    ...(resume ? { resume_from_checkpoint: true } : {}),
  };
  writeFileSync(
    file,
    Object.entries(cfg)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join('\n'),
  );
  return file;
}

function train(cfgFile: string, killWhen?: () => boolean): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'packages/cli/bin/crucible.mjs'), 'train', cfgFile], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const poll = killWhen
      ? setInterval(() => {
          if (killWhen()) {
            child.kill('SIGKILL');
            clearInterval(poll);
          }
        }, 200)
      : null;
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal });
    });
  });
}

const losses = (out: string) =>
  readFileSync(join(out, 'trainer_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { current_steps: number; loss?: number })
    .filter((r) => r.loss !== undefined)
    .map((r) => [r.current_steps, r.loss]);

async function main() {
  say(`CPU ${cpus()[0]?.model} x${cpus().length}`);
  // The model bench/train.ts writes for this preset (bf16 files; full fine-tuning trains them in fp32).
  const modelDir = join(models, 'qwen2.5-0.5b-bf16');
  if (!existsSync(join(modelDir, 'config.json'))) {
    say(`writing ${modelDir}`);
    const { shards: _shards, ...p } = MODEL_PRESETS['qwen2.5-0.5b'];
    await initModel({ arch: 'qwen2', ...p, seed: 1, dtype: 'BF16' }, modelDir);
  }
  const straight = '/tmp/crucible-resume-straight';
  const cut = '/tmp/crucible-resume-cut';
  for (const d of [straight, cut]) rmSync(d, { recursive: true, force: true });

  say('uninterrupted run');
  const a = await train(config(straight, false));
  if (a.code !== 0) throw new Error(`uninterrupted run failed: ${JSON.stringify(a)}`);

  say(`run killed after checkpoint-${save}`);
  const ckpt = join(cut, `checkpoint-${save}`);
  const t0 = Date.now();
  let written = 0;
  const b = await train(config(cut, false), () => {
    if (!existsSync(join(ckpt, 'trainer_state.json'))) return false;
    written ||= Date.now();
    return true;
  });
  const stateBytes = statSync(join(ckpt, 'train_state.bin')).size;
  say(`killed (${b.signal}); checkpoint train_state.bin ${(stateBytes / 2 ** 30).toFixed(2)} GiB`);
  const r0 = Date.now();
  const c = await train(config(cut, true));
  if (c.code !== 0) throw new Error(`resumed run failed: ${JSON.stringify(c)}`);
  const resumeS = (Date.now() - r0) / 1000;

  const la = losses(straight);
  const lb = losses(cut);
  const wa = readSafetensorsSync(join(straight, 'model.safetensors'));
  const wb = readSafetensorsSync(join(cut, 'model.safetensors'));
  let differing = 0;
  for (const [k, t] of wa) {
    const u = wb.get(k)?.data;
    if (!u || u.length !== t.data.length) differing++;
    else for (let i = 0; i < u.length; i++) if (u[i] !== t.data[i]) differing++;
  }
  const result = {
    cpu: cpus()[0]?.model,
    model: 'qwen2.5-0.5b (full fine-tuning)',
    checkpointStateGiB: Math.round((stateBytes / 2 ** 30) * 100) / 100,
    killedAfterMs: written ? written - t0 : null,
    resumedRunS: resumeS,
    lossesUninterrupted: la,
    lossesResumed: lb,
    lossesEqual: JSON.stringify(la) === JSON.stringify(lb),
    weightValuesDiffering: differing,
    bitForBit: JSON.stringify(la) === JSON.stringify(lb) && differing === 0,
  };
  console.log(JSON.stringify(result, null, 2));
  for (const d of [straight, cut]) rmSync(d, { recursive: true, force: true });
  if (!result.bitForBit) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
