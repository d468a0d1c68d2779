import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getTemplate, loadTokenizer, writeGgufModel } from '@crucible/trainer';
import { tinyBase } from '@crucible/trainer/testing';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, expect, it } from 'vitest';
import { wrapperOf } from '../src/generation';

/**
 * A served chat prompt is the prompt the model was trained on (issue 13): the serving worker renders chats with the
 * model's own Jinja template, token for token what the training core's `qwen` template (LLaMA-Factory's) gives for
 * the same messages, default system prompt included. node-llama-cpp's recognised ChatML wrapper dropped that system
 * prompt and added a BOS token, so a fine-tuned demo model answered off-topic.
 */

const dir = mkdtempSync(join(tmpdir(), 'crucible-gen-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('renders chats exactly as training does, with and without a system message', async () => {
  await tinyBase(join(dir, 'hf'));
  await writeGgufModel(join(dir, 'hf'), join(dir, 'model.gguf'), 'F32');
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: join(dir, 'model.gguf') });
  try {
    const trained = getTemplate('qwen', await loadTokenizer(join(dir, 'hf')));
    const wrapper = wrapperOf(model);
    expect(wrapper).not.toBeNull();
    for (const system of [undefined, 'You are terse.']) {
      const messages = [
        { role: 'user' as const, content: 'Who are you?' },
        { role: 'assistant' as const, content: 'I am a model.' },
        { role: 'user' as const, content: '你是谁？' },
      ];
      const history = [
        ...(system ? [{ type: 'system' as const, text: system }] : []),
        { type: 'user' as const, text: messages[0].content },
        { type: 'model' as const, response: [messages[1].content] },
        { type: 'user' as const, text: messages[2].content },
        { type: 'model' as const, response: [] },
      ];
      const served = wrapper!.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer);
      const expected = trained.promptForGeneration(messages, system ? { system } : {});
      expect([...served], system ?? 'default system').toEqual(expected);
    }
  } finally {
    await model.dispose();
    await llama.dispose();
  }
}, 120_000);
