import type { TChatMessage, TSampling } from './stream';

// "View code": the same request the playground sends, as curl, Python `openai` and JS `openai`, against the
// workspace's real endpoint. The key is a placeholder read from the environment: we never print a real key.

export type TSnippetInput = { baseUrl: string; model: string; messages: TChatMessage[]; sampling: TSampling };

const KEY_ENV = 'CRUCIBLE_API_KEY';

const indent = (text: string, spaces: number) =>
  text
    .split('\n')
    .map((line, i) => (i === 0 ? line : ' '.repeat(spaces) + line))
    .join('\n');

export function curlSnippet({ baseUrl, model, messages, sampling }: TSnippetInput): string {
  const body = JSON.stringify(
    {
      model,
      messages,
      temperature: sampling.temperature,
      top_p: sampling.topP,
      max_tokens: sampling.maxTokens,
      stream: true,
    },
    null,
    2,
  );
  // Single quotes around the body: escape any single quote inside it the POSIX-shell way.
  return [
    `curl ${baseUrl}/chat/completions \\`,
    `  -H "Authorization: Bearer $${KEY_ENV}" \\`,
    '  -H "Content-Type: application/json" \\',
    `  -d '${body.replace(/'/g, `'\\''`)}'`,
  ].join('\n');
}

export function pythonSnippet({ baseUrl, model, messages, sampling }: TSnippetInput): string {
  const msgs = messages.map(
    (m) => `        {"role": ${JSON.stringify(m.role)}, "content": ${JSON.stringify(m.content)}},`,
  );
  return [
    'import os',
    'from openai import OpenAI',
    '',
    `client = OpenAI(base_url=${JSON.stringify(baseUrl)}, api_key=os.environ["${KEY_ENV}"])`,
    '',
    'stream = client.chat.completions.create(',
    `    model=${JSON.stringify(model)},`,
    '    messages=[',
    ...msgs,
    '    ],',
    `    temperature=${sampling.temperature},`,
    `    top_p=${sampling.topP},`,
    `    max_tokens=${sampling.maxTokens},`,
    '    stream=True,',
    ')',
    'for chunk in stream:',
    '    if chunk.choices and chunk.choices[0].delta.content:',
    '        print(chunk.choices[0].delta.content, end="", flush=True)',
    'print()',
  ].join('\n');
}

export function jsSnippet({ baseUrl, model, messages, sampling }: TSnippetInput): string {
  return [
    "import OpenAI from 'openai';",
    '',
    `const client = new OpenAI({ baseURL: ${JSON.stringify(baseUrl)}, apiKey: process.env.${KEY_ENV} });`,
    '',
    'const stream = await client.chat.completions.create({',
    `  model: ${JSON.stringify(model)},`,
    `  messages: ${indent(JSON.stringify(messages, null, 2), 2)},`,
    `  temperature: ${sampling.temperature},`,
    `  top_p: ${sampling.topP},`,
    `  max_tokens: ${sampling.maxTokens},`,
    '  stream: true,',
    '});',
    'for await (const chunk of stream) {',
    "  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');",
    '}',
  ].join('\n');
}

export const SNIPPET_KEY_ENV = KEY_ENV;
