/**
 * The model card (README.md, in the shape Hugging Face and PEFT write: YAML front matter, then markdown) and the
 * "how to load it" snippets of the model page. Generated from the lineage every time, so they are never stale; the
 * user's own description (FineTunedModel.card) is the one part people write.
 */

export type TCardInput = {
  kind: 'fine_tuned' | 'base';
  name: string;
  displayName: string | null;
  description: string | null;
  method: string | null;
  base: { name: string; sourceRef: string | null; arch: string | null };
  dataset: { name: string; version: number } | null;
  job: { id: string; finishedAt: Date | null } | null;
  hyperparameters: Record<string, unknown> | null;
  trainLoss: number | null;
  evalLoss: number | null;
  createdAt: Date;
};

const yamlString = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar

const cell = (v: unknown) => String(typeof v === 'object' ? JSON.stringify(v) : v).replace(/\|/g, '\\|');

/** The base as Hugging Face knows it: its hub id when it was downloaded from one, else its name here. */
const hubIdOf = (base: TCardInput['base']) => base.sourceRef ?? base.name;

export function modelCard(m: TCardInput): string {
  const lora = m.kind === 'fine_tuned' && m.method !== 'sft_full';
  const front = [
    '---',
    ...(m.kind === 'fine_tuned' ? [`base_model: ${yamlString(hubIdOf(m.base))}`] : []),
    ...(lora ? ['library_name: peft'] : ['library_name: transformers']),
    'pipeline_tag: text-generation',
    'tags:',
    '  - crucible',
    ...(m.kind === 'fine_tuned' ? [`  - ${lora ? 'lora' : 'full-fine-tune'}`, '  - sft'] : []),
    ...(m.base.arch ? [`  - ${m.base.arch}`] : []),
    '---',
  ];
  const lines = [...front, '', `# ${m.displayName ?? m.name}`, ''];
  if (m.description?.trim()) lines.push(m.description.trim(), '');
  if (m.kind === 'base') {
    lines.push(`A base model${m.base.arch ? ` (${m.base.arch})` : ''} of this Crucible workspace.`, '');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `Fine-tuned with Crucible from \`${hubIdOf(m.base)}\`${
      m.dataset ? ` on the dataset **${m.dataset.name}** (version ${m.dataset.version})` : ''
    }${lora ? ' as a LoRA adapter (PEFT)' : ' (all weights)'}.`,
    '',
    `- Model id: \`${m.name}\``,
    ...(m.job ? [`- Training job: \`${m.job.id}\``] : []),
    `- Created: ${(m.job?.finishedAt ?? m.createdAt).toISOString()}`,
    '',
  );
  const hp = Object.entries(m.hyperparameters ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (hp.length) {
    lines.push('## Training hyper-parameters', '', '| hyper-parameter | value |', '| --- | --- |');
    for (const [k, v] of hp) lines.push(`| ${cell(k)} | ${cell(v)} |`);
    lines.push('');
  }
  if (m.trainLoss !== null || m.evalLoss !== null) {
    lines.push('## Results', '', '| metric | value |', '| --- | --- |');
    if (m.trainLoss !== null) lines.push(`| train loss | ${m.trainLoss.toFixed(4)} |`);
    if (m.evalLoss !== null) lines.push(`| eval loss | ${m.evalLoss.toFixed(4)} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

export type TSnippets = { transformers: string; llamacpp: string; ollama: string; curl: string; openai: string };

/**
 * How to load each download, with the real names and this console's URL. `downloadUrl(artifact)` is the API path of
 * a download (the curl lines use it with a workspace API key).
 */
export function snippets(m: {
  kind: 'fine_tuned' | 'base';
  lora: boolean;
  openaiId: string;
  base: TCardInput['base'];
  slugName: string;
  appUrl: string;
  downloadUrl: (artifact: string, dtype?: string) => string;
}): TSnippets {
  const hub = hubIdOf(m.base);
  const url = (a: string, dtype?: string) => `${m.appUrl}${m.downloadUrl(a, dtype)}`;
  const auth = '-H "Authorization: Bearer $CRUCIBLE_API_KEY"';
  const transformers =
    m.kind === 'fine_tuned' && m.lora
      ? [
          '# pip install transformers peft',
          '# mkdir adapter && tar -xf adapter.tar -C adapter',
          'from peft import PeftModel',
          'from transformers import AutoModelForCausalLM, AutoTokenizer',
          '',
          `base = AutoModelForCausalLM.from_pretrained(${JSON.stringify(hub)})`,
          'model = PeftModel.from_pretrained(base, "./adapter")',
          `tokenizer = AutoTokenizer.from_pretrained(${JSON.stringify(hub)})`,
          '',
          '# or the merged weights (tar -xf merged.tar -C merged):',
          '# model = AutoModelForCausalLM.from_pretrained("./merged")',
        ].join('\n')
      : [
          '# pip install transformers',
          '# mkdir model && tar -xf weights.tar -C model',
          'from transformers import AutoModelForCausalLM, AutoTokenizer',
          '',
          'model = AutoModelForCausalLM.from_pretrained("./model")',
          'tokenizer = AutoTokenizer.from_pretrained("./model")',
        ].join('\n');
  const ggufs =
    m.kind === 'fine_tuned' && m.lora
      ? { model: 'base-F16.gguf', adapter: 'adapter.gguf' }
      : { model: 'model-F16.gguf', adapter: null };
  const llamacpp = [
    `llama-cli -m ${ggufs.model}${ggufs.adapter ? ` --lora ${ggufs.adapter}` : ''} -cnv`,
    '# or as an OpenAI-compatible server:',
    `llama-server -m ${ggufs.model}${ggufs.adapter ? ` --lora ${ggufs.adapter}` : ''} --port 8080`,
  ].join('\n');
  const ollama = [
    '# Modelfile',
    `FROM ./${ggufs.model}`,
    ...(ggufs.adapter ? [`ADAPTER ./${ggufs.adapter}`] : []),
    '',
    `# ollama create ${m.slugName} -f Modelfile && ollama run ${m.slugName}`,
  ].join('\n');
  const curl = [
    ...(m.kind === 'fine_tuned' && m.lora
      ? [
          `curl -fL ${auth} -o adapter.tar "${url('adapter')}"`,
          `curl -fL ${auth} -o adapter.gguf "${url('gguf-adapter')}"`,
          `curl -fL ${auth} -o base-F16.gguf "${url('gguf-base', 'F16')}"`,
          `curl -fL ${auth} -o merged.tar "${url('merged', 'BF16')}"`,
        ]
      : [
          `curl -fL ${auth} -o weights.tar "${url('weights')}"`,
          `curl -fL ${auth} -o model-F16.gguf "${url('gguf', 'F16')}"`,
        ]),
    '# a built-on-request download answers 409 until it is built: POST .../exports {"format": "gguf", "dtype": "F16"}',
  ].join('\n');
  const openai = [
    'from openai import OpenAI',
    '',
    `client = OpenAI(base_url=${JSON.stringify(`${m.appUrl}/v1`)}, api_key="$CRUCIBLE_API_KEY")`,
    `reply = client.chat.completions.create(model=${JSON.stringify(m.openaiId)}, messages=[{"role": "user", "content": "Hello"}])`,
    'print(reply.choices[0].message.content)',
  ].join('\n');
  return { transformers, llamacpp, ollama, curl, openai };
}
