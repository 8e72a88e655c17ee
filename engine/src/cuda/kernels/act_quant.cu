// Per-token absmax activation quantization (W1.58A8).
//
//   s = ACT_QMAX / max|x|   (s = 1 for an all-zero token)
//   xq = clamp(round(x * s), ACT_QMIN, ACT_QMAX)   (round half away from zero)
//
// Also writes sum(xq) per token: the W2 kernels store codes w + 1 and
// subtract this sum once per output instead of decoding signs per weight.
// One block of ROW_THREADS per token, float4 loads / char4 stores
// (cols is a multiple of W2_WEIGHTS_PER_WORD, so of 4).

static __device__ __forceinline__ int quantize_one(float v, float s) {
    int q = (int)roundf(v * s);
    return max(ACT_QMIN, min(ACT_QMAX, q));
}

extern "C" __global__ void __launch_bounds__(ROW_THREADS)
act_quant(const float* __restrict__ x, i8* __restrict__ xq, float* __restrict__ scale,
          int* __restrict__ xsum, int cols) {
    __shared__ float fscratch[ROW_THREADS / WARP];
    __shared__ int iscratch[ROW_THREADS / WARP];
    const size_t token = blockIdx.x;
    const float4* row = (const float4*)(x + token * cols);
    char4* qrow = (char4*)(xq + token * cols);
    const int n4 = cols / 4;

    float m = 0.0f;
    for (int i = threadIdx.x; i < n4; i += ROW_THREADS) {
        const float4 v = row[i];
        m = fmaxf(m, fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w))));
    }
    m = block_max_f32<ROW_THREADS>(m, fscratch);
    const float s = m > 0.0f ? (float)ACT_QMAX / m : 1.0f;

    int sum = 0;
    for (int i = threadIdx.x; i < n4; i += ROW_THREADS) {
        const float4 v = row[i];
        const int a = quantize_one(v.x, s), b = quantize_one(v.y, s);
        const int c = quantize_one(v.z, s), d = quantize_one(v.w, s);
        qrow[i] = make_char4((signed char)a, (signed char)b, (signed char)c, (signed char)d);
        sum += a + b + c + d;
    }
    sum = block_sum_i32<ROW_THREADS>(sum, iscratch);
    if (threadIdx.x == 0) {
        scale[token] = s;
        xsum[token] = sum;
    }
}
