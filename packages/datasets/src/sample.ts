// The sample JSONL offered for download on the upload page: one row per feature of the canonical chat format.
const rows = [
  {
    messages: [
      { role: 'system', content: 'You are Crux, a concise assistant.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'Give me a synonym for "quick".' },
      { role: 'assistant', content: 'Speedy, I suppose?', weight: 0 },
      { role: 'user', content: 'Another one, please.' },
      { role: 'assistant', content: 'Swift.' },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'What time is it in Tokyo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{"city":"Tokyo"}' } }],
      },
      { role: 'tool', content: '{"time":"21:04"}', tool_call_id: 'call_1' },
      { role: 'assistant', content: 'It is 21:04 in Tokyo.' },
    ],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_time',
          description: 'The current time in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ],
  },
];

/** A valid canonical JSONL file showing system prompts, multi-turn with `weight: 0`, and tool calls. */
export const SAMPLE_JSONL: string = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
