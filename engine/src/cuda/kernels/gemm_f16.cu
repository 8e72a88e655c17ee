// Dense f16 GEMM, the reference point for the ternary kernels:
// c[m][n] = sum_k a[m][k] * b[n][k], a and b IEEE half (row-major, K
// contiguous, like the ternary weights), f32 accumulation and output.
//
// Classic shared-memory tiling: HGEMM_BM x HGEMM_BN outputs per block,
// HGEMM_BK of K per stage, converted to f32 once when staged (stored K-major
// so the inner loop reads broadcast rows), 4 x 4 micro-tile per thread
// strided by 16. Global loads are coalesced along K.

static_assert(HGEMM_THREADS == 256 && HGEMM_BM == 64 && HGEMM_BN == 64,
              "the micro-tile indexing below assumes 16 x 16 threads of 4 x 4 outputs");

extern "C" __global__ void __launch_bounds__(HGEMM_THREADS)
gemm_f16(const u16* __restrict__ a, const u16* __restrict__ b, float* __restrict__ c,
         int m_total, int n_total, int k_total) {
    __shared__ float as[HGEMM_BK][HGEMM_BM + 1];
    __shared__ float bs[HGEMM_BK][HGEMM_BN + 1];

    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * HGEMM_BM, n0 = blockIdx.x * HGEMM_BN;

    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < k_total; k0 += HGEMM_BK) {
        for (int e = tid; e < HGEMM_BM * HGEMM_BK; e += HGEMM_THREADS) {
            const int r = e / HGEMM_BK, kk = e % HGEMM_BK;
            const int m = m0 + r, k = k0 + kk;
            as[kk][r] = (m < m_total && k < k_total) ? f16_to_f32(a[(size_t)m * k_total + k]) : 0.0f;
        }
        for (int e = tid; e < HGEMM_BN * HGEMM_BK; e += HGEMM_THREADS) {
            const int r = e / HGEMM_BK, kk = e % HGEMM_BK;
            const int n = n0 + r, k = k0 + kk;
            bs[kk][r] = (n < n_total && k < k_total) ? f16_to_f32(b[(size_t)n * k_total + k]) : 0.0f;
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < HGEMM_BK; ++kk) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) av[i] = as[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= m_total) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tx + 16 * j;
            if (n < n_total) c[(size_t)m * n_total + n] = acc[i][j];
        }
    }
}

// Dense f16 GEMV (m = 1): one warp per row of b against the vector staged
// as f32 in shared memory, 16-byte loads of 8 halves per lane when rows are
// 16-byte aligned (k % 8 == 0), a coalesced scalar walk otherwise, and a
// shuffle reduction. `gemv_f16` takes an f16 vector (the dense reference of
// the ternary GEMV); `gemv_f16_f32x` an f32 one (the output head of the
// forward pass, whose normed activations the CPU also keeps in f32).
static __device__ __forceinline__ void f16_rows_dot(const u16* __restrict__ b,
                                                    float* __restrict__ c, int n_total,
                                                    int k_total, const float* xs) {
    const int lane = threadIdx.x % WARP;
    const int n = blockIdx.x * GEMV_WARPS + threadIdx.x / WARP;
    if (n >= n_total) return;
    const u16* row = b + (size_t)n * k_total;
    float acc = 0.0f;
    int done = 0;
    if (k_total % 8 == 0) {
        const uint4* row8 = (const uint4*)row;
        for (int i = lane; i < k_total / 8; i += WARP) {
            const uint4 q = __ldg(&row8[i]);
            const u32 words[4] = {q.x, q.y, q.z, q.w};
            const float* x = xs + 8 * i;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                acc = fmaf(f16_to_f32((u16)(words[j] & 0xffffu)), x[2 * j], acc);
                acc = fmaf(f16_to_f32((u16)(words[j] >> 16)), x[2 * j + 1], acc);
            }
        }
        done = k_total;
    }
    for (int i = done + lane; i < k_total; i += WARP) acc = fmaf(f16_to_f32(row[i]), xs[i], acc);
    acc = warp_sum_f32(acc);
    if (lane == 0) c[n] = acc;
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * WARP)
gemv_f16(const u16* __restrict__ a, const u16* __restrict__ b, float* __restrict__ c,
         int n_total, int k_total) {
    extern __shared__ float xs[];
    for (int i = threadIdx.x; i < k_total; i += GEMV_WARPS * WARP) xs[i] = f16_to_f32(a[i]);
    __syncthreads();
    f16_rows_dot(b, c, n_total, k_total, xs);
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * WARP)
gemv_f16_f32x(const float* __restrict__ a, const u16* __restrict__ b, float* __restrict__ c,
              int n_total, int k_total) {
    extern __shared__ float xs[];
    for (int i = threadIdx.x; i < k_total; i += GEMV_WARPS * WARP) xs[i] = a[i];
    __syncthreads();
    f16_rows_dot(b, c, n_total, k_total, xs);
}
