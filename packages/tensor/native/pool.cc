// The one thread pool: persistent std::thread workers woken per job. Workers spin briefly before sleeping on a
// condition variable, so back-to-back ops (a training step issues thousands) do not pay a futex wake each time, while
// an idle process burns no CPU on this shared machine.
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

#ifdef CT_X86
#include <immintrin.h>
#define CT_PAUSE() _mm_pause()
#else
#define CT_PAUSE() std::this_thread::yield()
#endif

namespace ct {
namespace {

struct Pool {
  int n = 1;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable done;
  std::atomic<uint64_t> gen{0};
  std::atomic<int> remaining{0};
  int active = 0;  // threads taking part in the current job (tid < active)
  void (*fn)(void*, int) = nullptr;
  void* ctx = nullptr;
  bool stop = false;
};

Pool* g_pool = nullptr;
constexpr int kSpin = 4000;  // ~100 us of pause before blocking: covers the gap between back-to-back ops

void worker(Pool* p, int tid) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = p->gen.load(std::memory_order_acquire);
    for (int s = 0; g == seen && s < kSpin; s++) {
      CT_PAUSE();
      g = p->gen.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(p->mu);
      p->wake.wait(lk, [&] { return p->stop || p->gen.load(std::memory_order_acquire) != seen; });
      if (p->stop) return;
      g = p->gen.load(std::memory_order_acquire);
    }
    seen = g;
    // Every worker acknowledges every job (idle ones included), so the next job cannot be published while a worker
    // still reads this one's fields.
    if (tid < p->active) p->fn(p->ctx, tid);
    if (p->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(p->mu);
      p->done.notify_one();
    }
  }
}

Pool* pool() {
  if (g_pool) return g_pool;
  auto* p = new Pool();  // never freed: workers live as long as the process (detached at exit)
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("CRUCIBLE_THREADS")) {
    int v = std::atoi(env);
    if (v > 0) n = v;
  }
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  p->n = n;
  for (int t = 1; t < n; t++) {
    p->workers.emplace_back(worker, p, t);
    p->workers.back().detach();
  }
  g_pool = p;
  return p;
}

}  // namespace

int pool_threads() { return pool()->n; }

void pool_run(int nt, void (*fn)(void*, int), void* ctx) {
  Pool* p = pool();
  if (nt > p->n) nt = p->n;
  if (nt <= 1) {
    fn(ctx, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->active = nt;
    p->remaining.store(p->n - 1, std::memory_order_relaxed);
    p->gen.fetch_add(1, std::memory_order_acq_rel);
  }
  p->wake.notify_all();
  fn(ctx, 0);
  for (int s = 0; s < kSpin && p->remaining.load(std::memory_order_acquire) != 0; s++) CT_PAUSE();
  if (p->remaining.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lk(p->mu);
    p->done.wait(lk, [&] { return p->remaining.load(std::memory_order_acquire) == 0; });
  }
}

void parallel_tasks_impl(i64 ntasks, void (*fn)(void*, i64, int), void* ctx) {
  std::atomic<i64> next{0};
  int nt = pool_threads();
  if (ntasks < nt) nt = static_cast<int>(ntasks);
  auto body = [&](int tid) {
    for (i64 t; (t = next.fetch_add(1, std::memory_order_relaxed)) < ntasks;) fn(ctx, t, tid);
  };
  run_threads(nt, body);
}

namespace {
struct Buf {
  float* p = nullptr;
  size_t cap = 0;
};
std::vector<Buf> g_scratch;  // [thread][slot]
std::mutex g_scratch_mu;
}  // namespace

void runtime_init() {
  std::lock_guard<std::mutex> lk(g_scratch_mu);
  if (g_scratch.empty()) g_scratch.resize(static_cast<size_t>(pool_threads()) * kSlots);
}

float* scratch(int tid, Slot slot, size_t floats) {
  // g_scratch is sized by runtime_init() at module load, before any job, so threads only touch their own entries.
  Buf& b = g_scratch[static_cast<size_t>(tid) * kSlots + slot];
  if (b.cap < floats) {
    std::free(b.p);
    size_t cap = floats + floats / 4 + 64;
    b.p = static_cast<float*>(std::aligned_alloc(64, ((cap * sizeof(float) + 63) / 64) * 64));
    b.cap = cap;
  }
  return b.p;
}

}  // namespace ct
