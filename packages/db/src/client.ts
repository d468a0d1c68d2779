import { PrismaPg } from '@prisma/adapter-pg';
import { type Prisma, PrismaClient } from '@prisma/client';
import { readDbEnv } from './env';

/**
 * Prisma 6.19 with `engineType = "client"`: queries are compiled in WebAssembly and run through node-postgres
 * (`@prisma/adapter-pg`), so no native query engine is downloaded or loaded.
 */
export function createPrisma(url: string = readDbEnv().DATABASE_URL, options: { max?: number } = {}): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: options.max ?? 10 }) });
}

// Kept on globalThis so Next.js dev reloads and vitest module isolation do not open a new pool per reload.
const holder = globalThis as { __crucibleDb?: Map<string, PrismaClient> };
holder.__crucibleDb ??= new Map();
const registry = holder.__crucibleDb;

/** The process-wide client for a database URL (default: DATABASE_URL), created on first use. */
export function getPrisma(url: string = readDbEnv().DATABASE_URL): PrismaClient {
  let client = registry.get(url);
  if (!client) {
    client = createPrisma(url);
    registry.set(url, client);
  }
  return client;
}

/** Closes every client getPrisma() opened (graceful shutdown, end of a test file). */
export async function disconnectAll(): Promise<void> {
  const clients = [...registry.values()];
  registry.clear();
  await Promise.all(clients.map((c) => c.$disconnect()));
}

/** A client or an interactive-transaction client: every data-access function takes either. */
export type TDb = PrismaClient | Prisma.TransactionClient;
