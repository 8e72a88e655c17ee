// Causal multi-head attention over a KV cache, with grouped KV heads.
//
//   q:   [tokens][n_head][head_dim]        (query t is at position pos0 + t)
//   k/v: [n_ctx][n_kv][head_dim] caches    (positions 0 .. pos0 + tokens - 1 filled)
//   out: [tokens][n_head][head_dim]
//
// Head h reads KV head h / (n_head / n_kv). One block of ATTN_THREADS per
// (head, query): each warp takes keys j = warp, warp + NW, ... and its lanes
// read head_dim-contiguous K rows (coalesced) and reduce the dot product with
// shuffles; scores live in dynamic shared memory, followed by the query.
// Softmax subtracts the max; the V pass gives each thread output dimensions
// and walks keys in order, so V rows are read coalesced.

#define ATTN_WARPS (ATTN_THREADS / WARP)

extern "C" __global__ void __launch_bounds__(ATTN_THREADS)
attention(const float* __restrict__ q, const float* __restrict__ kc,
          const float* __restrict__ vc, float* __restrict__ out,
          int n_head, int n_kv, int head_dim, int pos0, float scale) {
    extern __shared__ float smem[];
    __shared__ float scratch[ATTN_WARPS];
    const int h = blockIdx.x, t = blockIdx.y;
    const int n_keys = pos0 + t + 1;
    float* scores = smem;
    float* qs = smem + pos0 + gridDim.y;
    const int kvh = h / (n_head / n_kv);
    const size_t kv_stride = (size_t)n_kv * head_dim;
    const float* qrow = q + ((size_t)t * n_head + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += ATTN_THREADS) qs[d] = qrow[d];
    __syncthreads();

    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    for (int j = warp; j < n_keys; j += ATTN_WARPS) {
        const float* krow = kc + j * kv_stride + (size_t)kvh * head_dim;
        float dot = 0.0f;
        for (int d = lane; d < head_dim; d += WARP) dot = fmaf(qs[d], krow[d], dot);
        dot = warp_sum_f32(dot);
        if (lane == 0) scores[j] = dot * scale;
    }
    __syncthreads();

    float m = __int_as_float(0xff800000); // -inf
    for (int j = threadIdx.x; j < n_keys; j += ATTN_THREADS) m = fmaxf(m, scores[j]);
    m = block_max_f32<ATTN_THREADS>(m, scratch);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < n_keys; j += ATTN_THREADS) {
        const float e = expf(scores[j] - m);
        scores[j] = e;
        sum += e;
    }
    sum = block_sum_f32<ATTN_THREADS>(sum, scratch);
    __syncthreads();

    const float inv = 1.0f / sum;
    float* orow = out + ((size_t)t * n_head + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += ATTN_THREADS) {
        const float* vcol = vc + (size_t)kvh * head_dim + d;
        float acc = 0.0f;
        for (int j = 0; j < n_keys; ++j) acc = fmaf(scores[j], vcol[j * kv_stride], acc);
        orow[d] = acc * inv;
    }
}

// Appends new keys/values: cache[pos0 + t][kvh][d] = k[t][kvh][d].
extern "C" __global__ void __launch_bounds__(ELEM_THREADS)
kv_store(const float* __restrict__ k, const float* __restrict__ v,
         float* __restrict__ kc, float* __restrict__ vc, long long n, long long offset) {
    const long long i = (long long)blockIdx.x * ELEM_THREADS + threadIdx.x;
    if (i >= n) return;
    kc[offset + i] = k[i];
    vc[offset + i] = v[i];
}
