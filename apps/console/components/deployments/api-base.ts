import 'server-only';
import { readAuthEnv } from '@crucible/auth';

/** The workspace's OpenAI-compatible endpoint as callers outside the browser see it: APP_URL + /v1. */
export function openAiBaseUrl(): string {
  return `${readAuthEnv().APP_URL.replace(/\/+$/, '')}/v1`;
}
