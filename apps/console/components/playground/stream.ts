// Streaming chat completions from the browser: `fetch` + the response's ReadableStream, parsed as server-sent events
// (`data: {chunk}` lines, `data: [DONE]` at the end), the shape OpenAI's API streams and our gateway copies.

export type TChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export type TSampling = { temperature: number; topP: number; maxTokens: number };

export type TUsage = { promptTokens: number; completionTokens: number };

export type TStreamResult = {
  /** The completion's id (`chatcmpl-…`): its request log, which thumbs rate. */
  requestId: string | null;
  text: string;
  usage: TUsage | null;
  finishReason: string | null;
  /** Milliseconds from sending to the first content delta (null when nothing arrived). */
  firstTokenMs: number | null;
  totalMs: number;
};

export class ChatStreamError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'ChatStreamError';
  }
}

/**
 * Splits buffered SSE text into complete `data:` payloads and the unfinished tail. Events end with a blank line;
 * lines that are comments (`:`), other fields (`event:`, `id:`) or keep-alives are skipped. A multi-line event's
 * data lines are joined with "\n", as the SSE spec says.
 */
export function parseSse(buffer: string): { data: string[]; rest: string } {
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const events = normalised.split('\n\n');
  const rest = events.pop() ?? '';
  const data: string[] = [];
  for (const event of events) {
    const lines = event
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    if (lines.length > 0) data.push(lines.join('\n'));
  }
  return { data, rest };
}

type TChunk = {
  id?: string;
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; code?: string | null };
};

/** Sends one chat completion request as the signed-in user (session cookie + workspace header) and streams it. */
export async function streamChat({
  slug,
  model,
  messages,
  sampling,
  signal,
  onDelta,
}: {
  slug: string;
  model: string;
  messages: TChatMessage[];
  sampling: TSampling;
  signal?: AbortSignal;
  onDelta: (textSoFar: string) => void;
}): Promise<TStreamResult> {
  const started = performance.now();
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'X-Crucible-Workspace': slug },
    body: JSON.stringify({
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      temperature: sampling.temperature,
      top_p: sampling.topP,
      max_tokens: sampling.maxTokens,
    }),
    signal,
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => null)) as TChunk | null;
    throw new ChatStreamError(
      body?.error?.message ?? response.statusText ?? `HTTP ${response.status}`,
      response.status,
      body?.error?.code ?? null,
    );
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let text = '';
  let usage: TUsage | null = null;
  let finishReason: string | null = null;
  let firstTokenMs: number | null = null;
  let requestId: string | null = null;
  let done = false;
  while (!done) {
    const next = await reader.read();
    if (next.done) break;
    buffer += next.value;
    const parsed = parseSse(buffer);
    buffer = parsed.rest;
    for (const payload of parsed.data) {
      if (payload === '[DONE]') {
        done = true;
        break;
      }
      let chunk: TChunk;
      try {
        chunk = JSON.parse(payload) as TChunk;
      } catch {
        continue;
      }
      if (chunk.error) throw new ChatStreamError(chunk.error.message ?? 'error', 500, chunk.error.code ?? null);
      requestId ??= chunk.id ?? null;
      const choice = chunk.choices?.[0];
      const delta = choice?.delta?.content;
      if (delta) {
        if (firstTokenMs === null) firstTokenMs = performance.now() - started;
        text += delta;
        onDelta(text);
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) {
        usage = {
          promptTokens: chunk.usage.prompt_tokens ?? 0,
          completionTokens: chunk.usage.completion_tokens ?? 0,
        };
      }
    }
  }
  await reader.cancel().catch(() => undefined);
  return { requestId, text, usage, finishReason, firstTokenMs, totalMs: performance.now() - started };
}
