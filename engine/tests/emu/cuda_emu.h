// A CPU emulation of the subset of CUDA C our kernels use, so their logic
// can be tested bit for bit on machines without a GPU (see
// ../cuda_emulated.rs). Every thread of a block is a std::thread; blocks run
// one after another, so `__shared__` maps to a function-local `static`.
// __syncthreads is a block barrier and warp shuffles/ballots exchange values
// through per-warp slots between two warp barriers; a thread that returns
// drops out of both barriers, as an exited CUDA thread does.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static

using std::isfinite;
using std::max;
using std::min;

struct dim3 {
    unsigned x, y, z;
};
struct alignas(16) int4 {
    int x, y, z, w;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(4) char4 {
    signed char x, y, z, w;
};
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline char4 make_char4(signed char x, signed char y, signed char z, signed char w) {
    return {x, y, z, w};
}

namespace emu {
struct Warp {
    std::barrier<> bar{32};
    unsigned long long slots[32];
};
struct Ctx {
    dim3 tid, bid, bdim, gdim;
    std::barrier<>* block;
    Warp* warp;
    unsigned lane;
    unsigned char* dyn;
};
inline thread_local Ctx ctx;

template <class T>
T exchange(T v, int src_lane, bool valid) {
    Warp& w = *ctx.warp;
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    w.slots[ctx.lane] = bits;
    w.bar.arrive_and_wait();
    T r = v;
    if (valid) std::memcpy(&r, &w.slots[src_lane], sizeof(T));
    w.bar.arrive_and_wait();
    return r;
}

inline void launch(unsigned gx, unsigned gy, unsigned gz, unsigned threads, unsigned smem,
                   const std::function<void()>& body) {
    std::unique_ptr<int4[]> dyn(new int4[smem / 16 + 1]);
    for (unsigned bz = 0; bz < gz; ++bz)
        for (unsigned by = 0; by < gy; ++by)
            for (unsigned bx = 0; bx < gx; ++bx) {
                std::barrier<> block(threads);
                std::vector<std::unique_ptr<Warp>> warps;
                for (unsigned w = 0; w < threads / 32; ++w) warps.emplace_back(new Warp);
                std::vector<std::thread> ts;
                for (unsigned t = 0; t < threads; ++t) {
                    ts.emplace_back([&, t] {
                        ctx = Ctx{{t, 0, 0}, {bx, by, bz}, {threads, 1, 1}, {gx, gy, gz},
                                  &block, warps[t / 32].get(), t % 32,
                                  reinterpret_cast<unsigned char*>(dyn.get())};
                        body();
                        ctx.warp->bar.arrive_and_drop();
                        ctx.block->arrive_and_drop();
                    });
                }
                for (auto& t : ts) t.join();
            }
}
}  // namespace emu

#define threadIdx (emu::ctx.tid)
#define blockIdx (emu::ctx.bid)
#define blockDim (emu::ctx.bdim)
#define gridDim (emu::ctx.gdim)

inline void __syncthreads() { emu::ctx.block->arrive_and_wait(); }
inline unsigned char* emu_dyn_smem() { return emu::ctx.dyn; }

template <class T>
T __shfl_xor_sync(unsigned, T v, int o) {
    return emu::exchange(v, (int)(emu::ctx.lane ^ (unsigned)o), true);
}
template <class T>
T __shfl_down_sync(unsigned, T v, unsigned d) {
    const unsigned src = emu::ctx.lane + d;
    return emu::exchange(v, (int)src, src < 32);
}
inline unsigned __ballot_sync(unsigned, int pred) {
    emu::Warp& w = *emu::ctx.warp;
    w.slots[emu::ctx.lane] = pred ? 1 : 0;
    w.bar.arrive_and_wait();
    unsigned r = 0;
    for (unsigned l = 0; l < 32; ++l) r |= (unsigned)w.slots[l] << l;
    w.bar.arrive_and_wait();
    return r;
}

inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; ++i)
        c += (int)(signed char)(a >> (8 * i)) * (int)(signed char)(b >> (8 * i));
    return c;
}
template <class T>
T __ldg(const T* p) {
    return *p;
}
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    std::atomic_ref<unsigned long long> a(*p);
    unsigned long long old = a.load();
    while (v < old && !a.compare_exchange_weak(old, v)) {
    }
    return old;
}

// IEEE half conversions (round to nearest even), replacing the PTX cvt.
inline float emu_f16_to_f32(unsigned short h) {
    const unsigned s = (h >> 15) & 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0) v = std::ldexp((float)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = std::ldexp((float)(m | 0x400), (int)e - 25);
    return s ? -v : v;
}
inline unsigned short emu_f32_to_f16(float f) {
    unsigned x;
    std::memcpy(&x, &f, 4);
    const unsigned sign = (x >> 16) & 0x8000;
    const float a = std::fabs(f);
    if (std::isnan(f)) return (unsigned short)(sign | 0x7e00);
    if (a >= 65520.0f) return (unsigned short)(sign | 0x7c00);
    if (a < std::ldexp(1.0f, -14)) {
        return (unsigned short)(sign | (unsigned)std::nearbyint(a * std::ldexp(1.0f, 24)));
    }
    int e;
    std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
    const float m = std::nearbyint(std::ldexp(a, 11 - e));  // 11 significant bits
    unsigned bits = (unsigned)(e + 14) << 10;
    bits += (unsigned)m - 0x400;  // carries into the exponent when m == 2048
    return (unsigned short)(sign | bits);
}
