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
