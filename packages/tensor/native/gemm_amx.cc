// AMX (TDPBF16PS) GEMM on packed bf16 weights: C[M, Nc] (+)= bf16(A)[M, R] B[R, Nc], B in the packed tile layout of
// bf16w.cc (forward: the weight's own tiles; input gradient: W^T re-tiled per block).
//
// Tiles: 8 registers of 16 rows x 64 bytes. The micro-kernel keeps a 2x2 block of fp32 C tiles (32 x 32 outputs,
// tmm0-3), loads two A tiles (16 rows x 32 bf16, tmm4-5) and two B tiles (16 k-pairs x 16 columns, tmm6-7) per
// 32-element reduction step and issues 4 TDPBF16PS: 4 KB loaded per 32 K multiply-adds, the most 8 tiles allow.
// A is converted fp32 -> bf16 (vcvtne2ps2bf16, round to nearest even) once per call into 1 KB tiles
// [m tile][reduction tile]. Threads split the row tiles at M >= 64 per thread (each packs and reads only its own A),
// else the output columns (A then packed once, shared). Loops per thread: column block (NCT tiles) > reduction block
// (KCT tiles, 1024 K) > pair of row tiles > pair of column tiles: the A micro-panel of a row pair is reused across the
// block's columns and the B block (NCT x KCT KB) is read from L2. While a block runs, the next block's B source is
// prefetched into L2, and the next 2x2 block's C lines are prefetched for writing: a tile store that misses the cache
// waits for 16 read-for-ownership misses in a row, and with them the tile multiplies (that prefetch alone doubled the
// throughput at M = 512). Between reduction blocks the accumulators go to a per-thread partial-sum buffer, so C is
// written once, row-contiguously: in place with tile stores when alpha = 1, beta is 0 or 1 (then C is the starting
// value) and the tiles are whole; otherwise through a 4 KB buffer and an AVX-512 epilogue (C = alpha acc + beta C,
// masked at the edges).
//
// Linux gives a process AMX state only after arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); it is requested
// once, at first use, and any failure is kept in amx_status() (the kernels then fall back to AVX-512 BF16).
// Each pool thread loads the tile configuration at the start of its part of a call and releases it at the end.
#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "bf16w.h"

#ifdef CT_AMX
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace ct {

void* bf16_scratch(int tid, int slot, size_t bytes);  // bf16w.cc

namespace {
std::once_flag g_amx_once;
bool g_amx_ok = false;
std::string g_amx_status = "not probed";

#ifdef CT_AMX
void probe_amx() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) {
    g_amx_status = "no AMX-BF16/AMX-TILE in cpuid";
    return;
  }
  if (!__builtin_cpu_supports("avx512bf16")) {  // A is converted with vcvtne2ps2bf16
    g_amx_status = "AMX without AVX-512 BF16 (not supported by this build)";
    return;
  }
  __get_cpuid(1, &a, &b, &c, &d);
  if (!(c & (1u << 27))) {
    g_amx_status = "OSXSAVE off";
    return;
  }
  unsigned lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) {
    g_amx_status = "the OS does not enable AMX tile state (XCR0 bits 17/18)";
    return;
  }
  constexpr long kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
    g_amx_status = std::string("arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) failed: ") + std::strerror(errno);
    return;
  }
  unsigned long perm = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &perm) != 0 || !(perm & (1ul << kXfeatureXtiledata))) {
    g_amx_status = "arch_prctl granted no XTILEDATA permission";
    return;
  }
  if (const char* e = std::getenv("CRUCIBLE_NO_AMX"); e && *e && std::strcmp(e, "0")) {
    g_amx_status = "disabled by CRUCIBLE_NO_AMX";
    return;
  }
  g_amx_ok = true;
  g_amx_status = "ok";
}
#else
void probe_amx() { g_amx_status = "not compiled in (non-x86, old compiler, CT_NO_SIMD or CT_NO_AMX)"; }
#endif
}  // namespace

bool amx_available() {
  std::call_once(g_amx_once, probe_amx);
  return g_amx_ok;
}

const char* amx_status() {
  amx_available();
  return g_amx_status.c_str();
}

#ifdef CT_AMX
namespace {

// Tile instructions as inline assembly with a memory clobber: GCC 12's _tile_loadd macros declare no memory
// operand, so the compiler could move packing stores past the tile loads that read them.
#define CT_TLOAD(t, p, s) asm volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(p), "r"(static_cast<i64>(s)) : "memory")
#define CT_TSTORE(t, p, s) asm volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(p), "r"(static_cast<i64>(s)) : "memory")
#define CT_TDP(c, a, b) asm volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::: "memory")
#define CT_TZERO(t) asm volatile("tilezero %%tmm" #t ::: "memory")

struct alignas(64) TileCfg {
  uint8_t palette, start;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

void tiles_on() {
  static const TileCfg cfg = [] {
    TileCfg c;
    std::memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 8; i++) c.rows[i] = 16, c.colsb[i] = 64;
    return c;
  }();
  asm volatile("ldtilecfg %0" ::"m"(cfg) : "memory");
}
void tiles_off() { asm volatile("tilerelease" ::: "memory"); }

constexpr i64 kTileA = 512;  // uint16 per A tile
constexpr i64 kTileB = 256;  // uint32 per B tile
i64 g_kct = 32, g_nct = 16;
int g_split = 0;  // 0: auto, 1: columns, 2: rows (tuning only)  // reduction tiles (32 each) and column tiles (16 each) per cache block

const bool g_blocking_init = [] {
  if (const char* e = std::getenv("CRUCIBLE_AMX_KCT")) g_kct = std::max(1, std::atoi(e));
  if (const char* e = std::getenv("CRUCIBLE_AMX_NCT")) g_nct = std::max(2, std::atoi(e) / 2 * 2);
  return true;
}();
}  // namespace

void amx_set_blocking(i64 kct, i64 nct, int split) {  // benchmarks only
  g_split = split;
  if (kct > 0) g_kct = kct;
  if (nct > 0) g_nct = std::max<i64>(2, nct / 2 * 2);
}

namespace {

// A[M, R] (lda) row tiles [mt0, mt1) -> 1 KB tiles dst[(mt * Rt + rt) * 512], 16 rows x 32 bf16, zero-padded.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_a_tiles(const float* A, i64 lda, i64 M, i64 R,
                                                                          i64 Rt, i64 mt0, i64 mt1, uint16_t* dst) {
  for (i64 mt = mt0; mt < mt1; mt++) {
    for (int i = 0; i < 16; i++) {
      const i64 m = mt * 16 + i;
      uint16_t* d = dst + mt * Rt * kTileA + i * 32;
      if (m >= M) {
        for (i64 rt = 0; rt < Rt; rt++) _mm512_storeu_si512(d + rt * kTileA, _mm512_setzero_si512());
        continue;
      }
      const float* row = A + m * lda;
      const i64 full = R / 32;
      // Two rows ahead: the fp32 activations usually come from L3 or memory, the one cost of this pass.
      const float* ahead = m + 2 < M ? row + 2 * lda : row;
      for (i64 rt = 0; rt < full; rt++) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + 32 * rt), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(ahead + 32 * rt + 16), _MM_HINT_T0);
        const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 32 * rt + 16), _mm512_loadu_ps(row + 32 * rt));
        _mm512_storeu_si512(d + rt * kTileA, (__m512i)v);
      }
      for (i64 rt = full; rt < Rt; rt++) {
        const i64 left = R - 32 * rt, lh = left - 16;
        const __mmask16 ml = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
        const __mmask16 mh = lh >= 16 ? 0xffff : lh <= 0 ? 0 : static_cast<__mmask16>((1u << lh) - 1);
        const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(mh, row + 32 * rt + 16),
                                               _mm512_maskz_loadu_ps(ml, row + 32 * rt));
        _mm512_storeu_si512(d + rt * kTileA, (__m512i)v);
      }
    }
  }
}

// Where a 2x2 block's accumulators start from and go to. Tile (i, j) of a matrix view is at
// base + i * tileRow + j * tileCol with rows `stride` floats apart: C itself, or the thread's partial-sum buffer
// (tiles of 16 x 16, used between the reduction blocks of a long K so C is written once, contiguously).
struct TileView {
  float* base;
  i64 stride, tileRow, tileCol;
  float* at(int i, int j) const { return base + i * tileRow + j * tileCol; }
};
struct CIO {
  const TileView* in;   // nullptr: start from zero
  const TileView* out;  // where the accumulators are stored (C when final and `direct`, else the partial buffer)
  bool epilogue;        // final block through buf: C = alpha acc + beta C on the valid part
  float* c;             // C at the block's first row and column (epilogue)
  i64 ldc, mr, nr;      // valid rows / columns of the block (<= 32)
  float alpha, beta;
  float* buf;  // 4 KB
};

// C = alpha acc + beta C over the valid part of tile (ti, tj) held in t (16 x 16 fp32, row stride 16).
__attribute__((target("avx512f"))) void epilogue_tile(const CIO& o, int ti, int tj, const float* t) {
  const i64 r = std::min<i64>(16, o.mr - 16 * ti), cn = std::min<i64>(16, o.nr - 16 * tj);
  if (r <= 0 || cn <= 0) return;
  const __mmask16 mk = cn >= 16 ? 0xffff : static_cast<__mmask16>((1u << cn) - 1);
  const __m512 va = _mm512_set1_ps(o.alpha), vb = _mm512_set1_ps(o.beta);
  float* c = o.c + 16 * ti * o.ldc + 16 * tj;
  for (i64 i = 0; i < r; i++) {
    __m512 v = _mm512_mul_ps(va, _mm512_load_ps(t + 16 * i));
    if (o.beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, c + i * o.ldc), v);
    _mm512_mask_storeu_ps(c + i * o.ldc, mk, v);
  }
}

// The next cache block's B source, prefetched into L2 a few lines per reduction step while the current block runs,
// so the weight streams from memory behind the tile multiplies instead of in front of them. The source is n strips
// of `lines` cache lines each, `stride` bytes apart.
struct Prefetch {
  const char* base = nullptr;
  i64 n = 0, lines = 0, stride = 0;
  i64 strip = 0, line = 0;  // cursor
  i64 perStep = 0;          // lines per reduction step
  void issue() {
    for (i64 k = 0; k < perStep && strip < n; k++) {
      _mm_prefetch(base + strip * stride + line * 64, _MM_HINT_T1);
      if (++line == lines) line = 0, strip++;
    }
  }
};

// The next block's C lines, prefetched for writing while this block computes: a tile store that misses the cache
// waits for 16 read-for-ownership misses in a row, and the tile multiplies behind it wait too.
struct CPrefetch {
  const char* p = nullptr;
  i64 stride = 0;       // bytes between rows
  int rows = 0, lines = 0;  // rows of the block, 64-byte lines per row
  int at = 0, perStep = 0;
  void issue() {
    for (int k = 0; k < perStep && at < rows * lines; k++, at++)
      asm volatile("prefetchw %0" ::"m"(*(p + (at / lines) * stride + (at % lines) * 64)));
  }
};

// MT x NT tiles of C (1 or 2 each) over nk reduction tiles. a: A tiles (next row tile `as` uint16 apart), b: B tiles
// (next column tile `bs` uint32 apart), both advancing 1 KB per reduction tile.
template <int MT, int NT>
__attribute__((target("avx512f"))) void amx_block(i64 nk, const uint16_t* a, i64 as, const uint32_t* b, i64 bs,
                                                   const CIO& o, Prefetch& pf, CPrefetch& cpf) {
  if (o.in) {
    const TileView& v = *o.in;
    const i64 s = v.stride * 4;
    CT_TLOAD(0, v.at(0, 0), s);
    if (NT > 1) CT_TLOAD(1, v.at(0, 1), s);
    if (MT > 1) CT_TLOAD(2, v.at(1, 0), s);
    if (MT > 1 && NT > 1) CT_TLOAD(3, v.at(1, 1), s);
  } else {
    CT_TZERO(0);
    if (NT > 1) CT_TZERO(1);
    if (MT > 1) CT_TZERO(2);
    if (MT > 1 && NT > 1) CT_TZERO(3);
  }
  for (i64 k = 0; k < nk; k++) {
    CT_TLOAD(4, a, 64);
    CT_TLOAD(6, b, 64);
    CT_TDP(0, 4, 6);
    if (NT > 1) {
      CT_TLOAD(7, b + bs, 64);
      CT_TDP(1, 4, 7);
    }
    if (MT > 1) {
      CT_TLOAD(5, a + as, 64);
      CT_TDP(2, 5, 6);
      if (NT > 1) CT_TDP(3, 5, 7);
    }
    pf.issue();
    cpf.issue();
    a += kTileA;
    b += kTileB;
  }
  if (!o.epilogue) {
    const TileView& v = *o.out;
    const i64 s = v.stride * 4;
    CT_TSTORE(0, v.at(0, 0), s);
    if (NT > 1) CT_TSTORE(1, v.at(0, 1), s);
    if (MT > 1) CT_TSTORE(2, v.at(1, 0), s);
    if (MT > 1 && NT > 1) CT_TSTORE(3, v.at(1, 1), s);
    return;
  }
  float* t = o.buf;
  CT_TSTORE(0, t, 64);
  if (NT > 1) CT_TSTORE(1, t + 256, 64);
  if (MT > 1) CT_TSTORE(2, t + 512, 64);
  if (MT > 1 && NT > 1) CT_TSTORE(3, t + 768, 64);
  epilogue_tile(o, 0, 0, t);
  if (NT > 1) epilogue_tile(o, 0, 1, t + 256);
  if (MT > 1) epilogue_tile(o, 1, 0, t + 512);
  if (MT > 1 && NT > 1) epilogue_tile(o, 1, 1, t + 768);
}

using BlockFn = void (*)(i64, const uint16_t*, i64, const uint32_t*, i64, const CIO&, Prefetch&, CPrefetch&);
constexpr BlockFn kBlocks[2][2] = {{amx_block<1, 1>, amx_block<1, 2>}, {amx_block<2, 1>, amx_block<2, 2>}};

// Where block (jc: nct column tiles, pc: kct reduction tiles) reads its B from: the weight's own tiles (forward) or
// the row tiles retile_transposed reads (transW).
Prefetch block_source(const Bf16Gemm& g, i64 jc, i64 nct, i64 pc, i64 kct) {
  const PackedW& W = *g.W;
  Prefetch p;
  p.stride = W.Kt * 1024;
  if (!g.transW) {
    p.base = reinterpret_cast<const char*>(W.data + ((g.r0t + jc) * W.Kt + pc) * kTileB);
    p.n = nct;
    p.lines = kct * 16;
  } else {
    const i64 s0 = g.r0t + 2 * pc, kt0 = jc / 2, kt1 = (jc + nct - 1) / 2;
    p.base = reinterpret_cast<const char*>(W.data + (s0 * W.Kt + kt0) * kTileB);
    p.n = std::max<i64>(0, std::min(2 * kct, W.Nt - s0));
    p.lines = (kt1 - kt0 + 1) * 16;
  }
  return p;
}

}  // namespace

// Threads split the row tiles (in pairs) when there are enough, else the output columns (pairs of tiles).
// Per thread: column block (NCT tiles) > reduction block (KCT tiles) > pair of row tiles > pair of column tiles.
// The B block (NCT x KCT KB) is read from L2 by every row pair and C is written row-contiguously; while a block
// runs, the next one's B source is prefetched.
void gemm_bf16p_amx(const Bf16Gemm& g) {
  const i64 M = g.M, Nc = g.Nc, R = g.R;
  const i64 Rt = (R + 31) / 32, Ct = (Nc + 15) / 16, Mt = (M + 15) / 16;
  const PackedW& W = *g.W;
  uint16_t* ap = static_cast<uint16_t*>(bf16_scratch(0, 0, static_cast<size_t>(Mt * Rt) * 1024));

  int nt = pool_threads();
  if (2.0 * M * Nc * R < 4e6) nt = 1;
  // Threads split the rows when each gets at least two row-tile pairs (each packs and reads only its own A, and C is
  // written in disjoint row bands; measured 1.08-1.24x the column split at M = 512), else the columns.
  const bool splitRows = g_split == 2 ? Mt >= 2 * nt : g_split == 1 ? false : Mt >= 4 * nt;
  const bool splitCols = !splitRows;
  if (splitCols) {
    nt = static_cast<int>(std::max<i64>(1, std::min<i64>(nt, (Ct + 1) / 2)));
    parallel_for(Mt, 1, [&](i64 m0, i64 m1, int) { pack_a_tiles(g.A, g.lda, M, R, Rt, m0, m1, ap); });
  } else {
    nt = static_cast<int>(std::max<i64>(1, std::min<i64>(nt, Mt / 2)));
  }
  const i64 unitsC = (Ct + 1) / 2, unitsM = (Mt + 1) / 2;
  const i64 KCT = g_kct, NCT = g_nct;
  auto body = [&](int tid) {
    i64 c0 = 0, c1 = Ct, mt0 = 0, mt1 = Mt;
    if (splitCols) {
      c0 = std::min(Ct, unitsC * tid / nt * 2);
      c1 = std::min(Ct, unitsC * (tid + 1) / nt * 2);
    } else {
      mt0 = std::min(Mt, unitsM * tid / nt * 2);
      mt1 = std::min(Mt, unitsM * (tid + 1) / nt * 2);
      pack_a_tiles(g.A, g.lda, M, R, Rt, mt0, mt1, ap);
    }
    if (c0 >= c1 || mt0 >= mt1) return;
    uint32_t* bt = g.transW ? static_cast<uint32_t*>(bf16_scratch(tid, 1, static_cast<size_t>(NCT * KCT) * 1024))
                            : nullptr;
    float* buf = static_cast<float*>(bf16_scratch(tid, 2, 4096));
    // Partial sums between reduction blocks: [row tile of the thread][column tile of the block], 1 KB each.
    const i64 mtn = mt1 - mt0;
    float* acc = Rt > KCT ? static_cast<float*>(bf16_scratch(tid, 3, static_cast<size_t>(mtn * NCT) * 1024)) : nullptr;
    // In place on C: alpha 1, beta 0 or 1 (then C is the starting value), whole tiles.
    const bool simple = g.alpha == 1.0f && (g.beta == 0.0f || g.beta == 1.0f);
    tiles_on();
    for (i64 jc = c0; jc < c1; jc += NCT) {
      const i64 nct = std::min(NCT, c1 - jc);
      for (i64 pc = 0; pc < Rt; pc += KCT) {
        const i64 kct = std::min(KCT, Rt - pc);
        const bool first = pc == 0, last = pc + kct == Rt;
        // B tile (column tile j of the block, reduction tile pc + rt): forward from the weight, transW re-tiled.
        const uint32_t* b0;
        i64 bs;
        if (g.transW) {
          retile_transposed(W, g.r0t, R, jc, nct, pc, kct, bt);
          b0 = bt;
          bs = kct * kTileB;
        } else {
          b0 = W.data + ((g.r0t + jc) * W.Kt + pc) * kTileB;
          bs = W.Kt * kTileB;
        }
        Prefetch pf;
        if (!last) pf = block_source(g, jc, nct, pc + KCT, std::min(KCT, Rt - pc - KCT));
        else if (jc + NCT < c1) pf = block_source(g, jc + NCT, std::min(NCT, c1 - jc - NCT), 0, std::min(KCT, Rt));
        const i64 steps = ((mtn + 1) / 2) * ((nct + 1) / 2) * kct;
        pf.perStep = steps > 0 ? (pf.n * pf.lines + steps - 1) / steps : 0;
        for (i64 mt = mt0; mt < mt1; mt += 2) {
          const int mtl = mt + 1 < mt1 ? 2 : 1;
          const i64 mr = std::min<i64>(32, M - 16 * mt);
          for (i64 j = 0; j < nct; j += 2) {
            const int ntl = j + 1 < nct ? 2 : 1;
            const i64 nr = std::min<i64>(32, Nc - 16 * (jc + j));
            float* c = g.C + 16 * mt * g.ldc + 16 * (jc + j);
            const TileView cv{c, g.ldc, 16 * g.ldc, 16};
            const TileView av{acc ? acc + ((mt - mt0) * NCT + j) * 256 : nullptr, 16, NCT * 256, 256};
            const bool whole = mr >= 16 * mtl && nr >= 16 * ntl;
            const bool direct = simple && whole;  // C read / written with tile loads and stores
            CIO o{nullptr, nullptr, false, c, g.ldc, mr, nr, g.alpha, g.beta, buf};
            if (!first) o.in = &av;
            else if (direct && g.beta == 1.0f) o.in = &cv;
            if (!last) o.out = &av;
            else if (direct) o.out = &cv;
            else o.epilogue = true;
            // C of the next block of this reduction pass, when that block writes (or starts from) C itself.
            CPrefetch cpf;
            if (last || (first && direct && g.beta == 1.0f)) {
              const i64 nj = j + 2 < nct ? j + 2 : 0, nm = j + 2 < nct ? mt : mt + 2;
              if (nm < mt1) {
                cpf.p = reinterpret_cast<const char*>(g.C + 16 * nm * g.ldc + 16 * (jc + nj));
                cpf.stride = g.ldc * 4;
                cpf.rows = static_cast<int>(std::min<i64>(32, M - 16 * nm));
                cpf.lines = static_cast<int>((std::min<i64>(32, Nc - 16 * (jc + nj)) + 15) / 16);
                cpf.perStep = static_cast<int>((cpf.rows * cpf.lines + kct - 1) / kct);
              }
            }
            kBlocks[mtl - 1][ntl - 1](kct, ap + (mt * Rt + pc) * kTileA, Rt * kTileA, b0 + j * bs, bs, o, pf, cpf);
          }
        }
      }
    }
    tiles_off();
  };
  run_threads(nt, body);
}

// ---- AMX peak: TDPBF16PS on registers only --------------------------------------------------------------------------

namespace {
__attribute__((noinline)) void tdp_loop(i64 iters) {
  for (i64 i = 0; i < iters; i++) {
    CT_TDP(0, 4, 6);
    CT_TDP(1, 4, 7);
    CT_TDP(2, 5, 6);
    CT_TDP(3, 5, 7);
  }
}
}  // namespace

double amx_peak_gflops(double seconds) {
  if (!amx_available()) return 0;
  const int nt = pool_threads();
  double* rates = static_cast<double*>(std::malloc(sizeof(double) * nt));
  // Non-zero operands: TMUL draws more power (and the core clocks lower) on real data than on zero tiles.
  alignas(64) static uint16_t data[2][512];
  for (int t = 0; t < 2; t++)
    for (int i = 0; i < 512; i++) data[t][i] = static_cast<uint16_t>(0x3c00 + ((i * (37 + 8 * t)) % 251) - 125 + ((i & 1) << 15));
  auto body = [&](int tid) {
    tiles_on();
    CT_TZERO(0);
    CT_TZERO(1);
    CT_TZERO(2);
    CT_TZERO(3);
    CT_TLOAD(4, data[0], 64);
    CT_TLOAD(5, data[1], 64);
    CT_TLOAD(6, data[1], 64);
    CT_TLOAD(7, data[0], 64);
    using clk = std::chrono::steady_clock;
    const auto t0 = clk::now();
    double flops = 0, el = 0;
    do {
      tdp_loop(1 << 12);
      flops += double(1 << 12) * 4 * 16 * 16 * 32 * 2;
      el = std::chrono::duration<double>(clk::now() - t0).count();
    } while (el < seconds);
    rates[tid] = flops / el;
    tiles_off();
  };
  run_threads(nt, body);
  double total = 0;
  for (int t = 0; t < nt; t++) total += rates[t];
  std::free(rates);
  return total * 1e-9;
}

#else  // !CT_AMX

void gemm_bf16p_amx(const Bf16Gemm& g) { gemm_bf16p_avx512(g); }
double amx_peak_gflops(double) { return 0; }
void amx_set_blocking(i64, i64, int) {}

#endif  // CT_AMX

}  // namespace ct
