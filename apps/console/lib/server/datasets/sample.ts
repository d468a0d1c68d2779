// The sample chat JSONL offered on the upload page and by GET .../datasets/template. No imports: the browser
// bundles it too (the upload page builds its download link from it).

export const SAMPLE_FILE_NAME = 'crucible-sample.jsonl';

export const SAMPLE_JSONL = `${[
  {
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'The capital of France is Paris.' },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'Translate "good morning" into Chinese.' },
      { role: 'assistant', content: '早上好', weight: 1 },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'Say hi.' },
      { role: 'assistant', content: 'Hello!', weight: 0 },
      { role: 'user', content: 'And once more, politely.' },
      { role: 'assistant', content: 'Hello, it is a pleasure to meet you.' },
    ],
  },
]
  .map((r) => JSON.stringify(r))
  .join('\n')}\n`;
