// W2A8 GEMV for decode: out[r] = (sum_k w[r][k] * xq[k]) * wscale / xscale.
//
// Weights are in the W2 layout (src/cuda/layout.rs): 16 ternary weights per
// u32 as codes w + 1 with bitnet.cpp's interleave, so (word >> 2j) & 0x03030303
// lines up with the j-th int32 of four int8 activations. One warp per output
// row; the block first stages the int8 activation row in shared memory
// (int4 vectors). In whole super-groups each lane loads one uint4 of weights
// (a warp reads 512 contiguous bytes) covering groups lane, lane+32, lane+64,
// lane+96, whose activation vectors are conflict-free in shared memory.
// Integer accumulation is exact; the warp reduces with shuffles.

static __device__ __forceinline__ int dot_group(u32 w, int4 a, int acc) {
    acc = __dp4a((int)(w & 0x03030303u), a.x, acc);
    acc = __dp4a((int)((w >> 2) & 0x03030303u), a.y, acc);
    acc = __dp4a((int)((w >> 4) & 0x03030303u), a.z, acc);
    acc = __dp4a((int)((w >> 6) & 0x03030303u), a.w, acc);
    return acc;
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * WARP)
gemv_w2a8(const u32* __restrict__ w, const i8* __restrict__ xq,
          const float* __restrict__ xscale, const int* __restrict__ xsum,
          float wscale, float* __restrict__ out,
          int rows, int groups, int row_words, int full_supers) {
    extern __shared__ int4 act[];
    for (int i = threadIdx.x; i < groups; i += GEMV_WARPS * WARP) {
        act[i] = ((const int4*)xq)[i];
    }
    __syncthreads();

    const int lane = threadIdx.x % WARP;
    const int row = blockIdx.x * GEMV_WARPS + threadIdx.x / WARP;
    if (row >= rows) return;
    const u32* wrow = w + (size_t)row * row_words;
    const uint4* wrow4 = (const uint4*)wrow;

    int acc = 0;
    for (int c = 0; c < full_supers; ++c) {
        const uint4 q = __ldg(&wrow4[c * WARP + lane]);
        const int4* a = act + c * W2_SUPER_GROUPS + lane;
        acc = dot_group(q.x, a[0 * WARP], acc);
        acc = dot_group(q.y, a[1 * WARP], acc);
        acc = dot_group(q.z, a[2 * WARP], acc);
        acc = dot_group(q.w, a[3 * WARP], acc);
    }
    for (int g = full_supers * W2_SUPER_GROUPS + lane; g < groups; g += WARP) {
        acc = dot_group(__ldg(&wrow[g]), act[g], acc);
    }
    acc = warp_sum_i32(acc);
    if (lane == 0) {
        out[row] = (float)(acc - xsum[0]) * wscale / xscale[0];
    }
}
