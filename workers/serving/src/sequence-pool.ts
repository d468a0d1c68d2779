import type { LlamaContext, LlamaContextSequence } from 'node-llama-cpp';

/**
 * The sequences of one served model on this worker: one llama.cpp context with N sequences (N = the replicas of its
 * deployments placed here, at least 1), each holding one conversation at a time. llama.cpp batches the sequences of
 * a context into one decode, so N requests run side by side. A request takes a free sequence or waits in line.
 *
 * Resizing (a deployment's replica count or context size changed) opens a new context first — so a failure leaves
 * the old one serving — then retires the old one, disposing it when its last request ends.
 */

export type TPoolSize = { sequences: number; contextSize: number };

type TGeneration = { context: LlamaContext; size: TPoolSize; free: LlamaContextSequence[]; inUse: number };
type TWaiter = { resolve: (s: LlamaContextSequence) => void; reject: (e: unknown) => void; signal?: AbortSignal };

export type TLease = { sequence: LlamaContextSequence; release: () => void };

export type TSequencePool = Awaited<ReturnType<typeof createSequencePool>>;

export async function createSequencePool(open: (size: TPoolSize) => Promise<LlamaContext>, size: TPoolSize) {
  const generationOf = async (s: TPoolSize): Promise<TGeneration> => {
    const context = await open(s);
    const free: LlamaContextSequence[] = [];
    for (let i = 0; i < s.sequences; i++) free.push(context.getSequence());
    return { context, size: s, free, inUse: 0 };
  };
  let current = await generationOf(size);
  const retiring = new Set<TGeneration>();
  const waiters: TWaiter[] = [];
  let disposed = false;

  const retire = (g: TGeneration) => {
    if (g.inUse === 0) void g.context.dispose().catch(() => {});
    else retiring.add(g);
  };

  /** Hands a free sequence of the current context to the next waiter still waiting. */
  const serveWaiters = () => {
    while (waiters.length && current.free.length) {
      const w = waiters.shift()!;
      if (w.signal?.aborted) continue;
      current.inUse += 1;
      w.resolve(current.free.pop()!);
    }
  };

  const lease = (sequence: LlamaContextSequence): TLease => {
    let done = false;
    return {
      sequence,
      release: () => {
        if (done) return;
        done = true;
        const g =
          sequence.context === current.context ? current : [...retiring].find((r) => r.context === sequence.context);
        if (!g) return;
        g.inUse -= 1;
        if (g === current) {
          current.free.push(sequence);
          serveWaiters();
        } else if (g.inUse === 0) {
          retiring.delete(g);
          void g.context.dispose().catch(() => {});
        }
      },
    };
  };

  return {
    get size(): TPoolSize {
      return current.size;
    },
    /** Sequences of the current context free right now. */
    get free(): number {
      return current.free.length;
    },
    /** Requests waiting for a sequence. */
    get waiting(): number {
      return waiters.length;
    },
    /** Requests running or waiting. */
    get busy(): number {
      return current.inUse + waiters.length + [...retiring].reduce((n, g) => n + g.inUse, 0);
    },
    /** A free sequence, now or when one frees up; rejects if `signal` aborts first (a timed-out probe). */
    acquire(signal?: AbortSignal): Promise<TLease> {
      if (disposed) return Promise.reject(new Error('this model was unloaded'));
      if (signal?.aborted) return Promise.reject(signal.reason);
      const seq = current.free.pop();
      if (seq) {
        current.inUse += 1;
        return Promise.resolve(lease(seq));
      }
      return new Promise<TLease>((resolve, reject) => {
        const w: TWaiter = { resolve: (s) => resolve(lease(s)), reject, signal };
        waiters.push(w);
        signal?.addEventListener(
          'abort',
          () => {
            const i = waiters.indexOf(w);
            if (i >= 0) waiters.splice(i, 1);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    },
    /** Opens a context of `size` (unless it is the current size) and moves new requests onto it. */
    async resize(next: TPoolSize, force = false): Promise<void> {
      if (!force && next.sequences === current.size.sequences && next.contextSize === current.size.contextSize) return;
      const g = await generationOf(next);
      const old = current;
      current = g;
      retire(old);
      serveWaiters();
    },
    async dispose(): Promise<void> {
      disposed = true;
      for (const w of waiters.splice(0)) w.reject(new Error('this model was unloaded'));
      await current.context.dispose().catch(() => {});
      for (const g of retiring) await g.context.dispose().catch(() => {});
      retiring.clear();
    },
  };
}
