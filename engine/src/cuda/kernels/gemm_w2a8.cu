// W2A8 GEMM for prefill: out[m][n] = (sum_k w[n][k] * xq[m][k]) * wscale / xscale[m].
//
// Same W2 weights as gemv_w2a8. A block computes GEMM_BM tokens x GEMM_BN
// rows; each stage stages GEMM_BK weights of K: the int8 activations as int4
// vectors (one per thread) and the W2 words (one per thread, located through
// the row's lane-major super-group order). Each thread owns a 4 x 4 micro-tile
// strided by 16 (tokens ty + 16 i, rows tx + 16 j) so the activation reads of
// a warp broadcast and the padded weight rows hit distinct banks; the inner
// step is 16 shifts/masks and 64 __dp4a per 16 weights.

#define GEMM_GROUPS (GEMM_BK / W2_WEIGHTS_PER_WORD)
static_assert(GEMM_THREADS == 256 && GEMM_BM == 64 && GEMM_BN == 64,
              "the micro-tile indexing below assumes 16 x 16 threads of 4 x 4 outputs");
static_assert(GEMM_BK % W2_WEIGHTS_PER_WORD == 0, "a stage holds whole W2 words");

static __device__ __forceinline__ int w2_word_of_group(int g, int full_supers) {
    const int c = g / W2_SUPER_GROUPS;
    if (c < full_supers) {
        const int r = g % W2_SUPER_GROUPS;
        return c * W2_SUPER_GROUPS + (r % WARP) * W2_WORDS_PER_LOAD + r / WARP;
    }
    return g;
}

extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
gemm_w2a8(const u32* __restrict__ w, const i8* __restrict__ xq,
          const float* __restrict__ xscale, const int* __restrict__ xsum,
          float wscale, float* __restrict__ out,
          int tokens, int rows, int groups, int row_words, int full_supers) {
    __shared__ int4 as[GEMM_BM][GEMM_GROUPS];
    __shared__ u32 ws[GEMM_BN][GEMM_GROUPS + 1];

    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * GEMM_BM, n0 = blockIdx.x * GEMM_BN;
    const int4 zero4 = make_int4(0, 0, 0, 0);

    int acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0;

    for (int g0 = 0; g0 < groups; g0 += GEMM_GROUPS) {
        for (int e = tid; e < GEMM_BM * GEMM_GROUPS; e += GEMM_THREADS) {
            const int t = e / GEMM_GROUPS, gl = e % GEMM_GROUPS;
            const int m = m0 + t, g = g0 + gl;
            as[t][gl] = (m < tokens && g < groups)
                ? ((const int4*)(xq + (size_t)m * groups * W2_WEIGHTS_PER_WORD))[g]
                : zero4;
        }
        for (int e = tid; e < GEMM_BN * GEMM_GROUPS; e += GEMM_THREADS) {
            const int r = e / GEMM_GROUPS, gl = e % GEMM_GROUPS;
            const int n = n0 + r, g = g0 + gl;
            ws[r][gl] = (n < rows && g < groups)
                ? __ldg(&w[(size_t)n * row_words + w2_word_of_group(g, full_supers)])
                : 0u;
        }
        __syncthreads();

#pragma unroll
        for (int gl = 0; gl < GEMM_GROUPS; ++gl) {
            int c[4][4];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const u32 word = ws[tx + 16 * j][gl];
#pragma unroll
                for (int q = 0; q < 4; ++q) c[j][q] = (int)((word >> (2 * q)) & 0x03030303u);
            }
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int4 a = as[ty + 16 * i][gl];
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    int s = acc[i][j];
                    s = __dp4a(c[j][0], a.x, s);
                    s = __dp4a(c[j][1], a.y, s);
                    s = __dp4a(c[j][2], a.z, s);
                    s = __dp4a(c[j][3], a.w, s);
                    acc[i][j] = s;
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= tokens) continue;
        const int sum = xsum[m];
        const float xs = xscale[m];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tx + 16 * j;
            if (n < rows) out[(size_t)m * rows + n] = (float)(acc[i][j] - sum) * wscale / xs;
        }
    }
}
