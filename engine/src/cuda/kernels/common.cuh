// Shared helpers, prepended to every kernel source by the Rust side
// (src/cuda/source.rs) after the generated layout #defines.
// NVRTC runs without the CUDA toolkit headers, so nothing here #includes.

#if !defined(WARP) || !defined(I2S_BLOCK) || !defined(W2_WEIGHTS_PER_WORD)
#error "layout constants missing: compile through engine::cuda::source"
#endif

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef signed char i8;

#define FULL_MASK 0xffffffffu

static __device__ __forceinline__ int warp_sum_i32(int v) {
#pragma unroll
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

static __device__ __forceinline__ float warp_sum_f32(float v) {
#pragma unroll
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

static __device__ __forceinline__ float warp_max_f32(float v) {
#pragma unroll
    for (int o = WARP / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Block-wide reductions for blocks of NT threads (a multiple of WARP);
// `scratch` holds NT / WARP values. Every thread gets the result.
template <int NT>
static __device__ __forceinline__ float block_sum_f32(float v, float* scratch) {
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    v = warp_sum_f32(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < NT / WARP ? scratch[lane] : 0.0f;
    return warp_sum_f32(v);
}

template <int NT>
static __device__ __forceinline__ float block_max_f32(float v, float* scratch) {
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    v = warp_max_f32(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < NT / WARP ? scratch[lane] : 0.0f;
    return warp_max_f32(v);
}

template <int NT>
static __device__ __forceinline__ int block_sum_i32(int v, int* scratch) {
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    v = warp_sum_i32(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < NT / WARP ? scratch[lane] : 0;
    return warp_sum_i32(v);
}

// IEEE half <-> float without cuda_fp16.h (one PTX cvt each).
static __device__ __forceinline__ float f16_to_f32(u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

static __device__ __forceinline__ u16 f32_to_f16(float f) {
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

// Ternary value of a 2-bit code (code = w + TERNARY_BIAS).
static __device__ __forceinline__ int ternary_of_code(u32 code) {
    return (int)code - TERNARY_BIAS;
}
