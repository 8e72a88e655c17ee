// Quantize / dequantize of the per-tensor-scale ternary formats (I2S, TL1,
// TL2) in their file layouts (bit diagrams: src/quant/{i2s,tl1,tl2}.rs).
//
// Quantize is three launches, all on the device:
//   1. abs_stats_partial: per-block f64 sum of |w|, max |w|, smallest
//      non-zero |w| and first non-finite index (shuffle reductions);
//   2. abs_stats_final: one thread folds the partials in a fixed order and
//      writes gamma (for step 3 and into the tensor's trailer) (the CPU rule: the common
//      magnitude of an already-ternary tensor, else max(absmean, MIN_GAMMA));
//   3. <fmt>_quantize: one warp per packed block reads gamma from the trailer
//      and ternarizes against half = gamma / 2 (w >= half -> +1,
//      w <= -half -> -1), exactly the CPU comparison.
// Dequantize is one launch: one warp per block; invalid codes record the
// smallest bad weight index in status[0] (atomicMin), a non-finite gamma sets
// status[1], and the host turns either into a typed error.

// ---- tensor scale -----------------------------------------------------------

extern "C" __global__ void __launch_bounds__(ELEM_THREADS)
abs_stats_partial(const float* __restrict__ x, long long n, double* __restrict__ psum,
                  float* __restrict__ pmax, float* __restrict__ pmin,
                  unsigned long long* __restrict__ pbad) {
    __shared__ double dscratch[ELEM_THREADS / WARP];
    __shared__ float mscratch[ELEM_THREADS / WARP];
    __shared__ float nscratch[ELEM_THREADS / WARP];
    __shared__ unsigned long long bscratch[ELEM_THREADS / WARP];
    double sum = 0.0;
    float mx = 0.0f, mn = __int_as_float(0x7f800000);
    unsigned long long bad = (unsigned long long)n;
    const long long stride = (long long)gridDim.x * ELEM_THREADS;
    for (long long i = (long long)blockIdx.x * ELEM_THREADS + threadIdx.x; i < n; i += stride) {
        const float a = fabsf(x[i]);
        if (!(a <= __int_as_float(0x7f7fffff))) {  // NaN or inf
            bad = min(bad, (unsigned long long)i);
            continue;
        }
        sum += (double)a;
        mx = fmaxf(mx, a);
        if (a != 0.0f) mn = fminf(mn, a);
    }
#pragma unroll
    for (int o = WARP / 2; o > 0; o >>= 1) {
        sum += __shfl_xor_sync(FULL_MASK, sum, o);
        mx = fmaxf(mx, __shfl_xor_sync(FULL_MASK, mx, o));
        mn = fminf(mn, __shfl_xor_sync(FULL_MASK, mn, o));
        bad = min(bad, __shfl_xor_sync(FULL_MASK, bad, o));
    }
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    if (lane == 0) {
        dscratch[warp] = sum;
        mscratch[warp] = mx;
        nscratch[warp] = mn;
        bscratch[warp] = bad;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < ELEM_THREADS / WARP; ++w) {
            sum += dscratch[w];
            mx = fmaxf(mx, mscratch[w]);
            mn = fminf(mn, nscratch[w]);
            bad = min(bad, bscratch[w]);
        }
        psum[blockIdx.x] = sum;
        pmax[blockIdx.x] = mx;
        pmin[blockIdx.x] = mn;
        pbad[blockIdx.x] = bad;
    }
}

// One thread folds the (few hundred) partials in index order: deterministic.
extern "C" __global__ void abs_stats_final(const double* __restrict__ psum,
                                           const float* __restrict__ pmax,
                                           const float* __restrict__ pmin,
                                           const unsigned long long* __restrict__ pbad,
                                           int parts, long long n, float* __restrict__ gamma,
                                           float* __restrict__ trailer,
                                           unsigned long long* __restrict__ status) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double sum = 0.0;
    float mx = 0.0f, mn = __int_as_float(0x7f800000);
    unsigned long long bad = (unsigned long long)n;
    for (int p = 0; p < parts; ++p) {
        sum += psum[p];
        mx = fmaxf(mx, pmax[p]);
        mn = fminf(mn, pmin[p]);
        bad = min(bad, pbad[p]);
    }
    status[0] = bad;
    float g;
    if (mx > 0.0f && mn == mx) {
        g = mx;
    } else {
        g = fmaxf((float)(sum / (double)n), MIN_GAMMA);
    }
    *gamma = g;
    *trailer = g;
}

static __device__ __forceinline__ int ternarize(float w, float half) {
    return w >= half ? 1 : (w <= -half ? -1 : 0);
}

static __device__ __forceinline__ u32 code_of(int t) { return (u32)(t + TERNARY_BIAS); }

static __device__ __forceinline__ void check_gamma(float g, unsigned long long* status) {
    if (blockIdx.x == 0 && threadIdx.x == 0 && !isfinite(g)) status[1] = 1;
}

// ---- I2S: byte l of a block = planes p = 0..3 of weight p * I2S_PLANE + l ---

#define I2S_SHIFT(p) ((8 - I2S_CODE_BITS) - I2S_CODE_BITS * (p))
#define I2S_PLANES (8 / I2S_CODE_BITS)
static_assert(I2S_PLANE == WARP && I2S_BLOCK == I2S_PLANES * I2S_PLANE,
              "one lane per byte of an I2S block");

extern "C" __global__ void __launch_bounds__(QUANT_WARPS * WARP)
i2s_quantize(const float* __restrict__ x, u8* __restrict__ out,
             const float* __restrict__ gamma, long long n_blocks) {
    const long long blk = (long long)blockIdx.x * QUANT_WARPS + threadIdx.x / WARP;
    if (blk >= n_blocks) return;
    const int lane = threadIdx.x % WARP;
    const float half = 0.5f * *gamma;
    const float* xb = x + blk * I2S_BLOCK;
    u32 byte = 0;
#pragma unroll
    for (int p = 0; p < I2S_PLANES; ++p) byte |= code_of(ternarize(xb[p * I2S_PLANE + lane], half)) << I2S_SHIFT(p);
    out[blk * I2S_BLOCK_BYTES + lane] = (u8)byte;
}

extern "C" __global__ void __launch_bounds__(QUANT_WARPS * WARP)
i2s_dequantize(const u8* __restrict__ in, float* __restrict__ out, long long n_blocks,
               unsigned long long* __restrict__ status) {
    const float g = *(const float*)(in + n_blocks * I2S_BLOCK_BYTES);
    check_gamma(g, status);
    const long long blk = (long long)blockIdx.x * QUANT_WARPS + threadIdx.x / WARP;
    if (blk >= n_blocks) return;
    const int lane = threadIdx.x % WARP;
    const u32 byte = in[blk * I2S_BLOCK_BYTES + lane];
    float* yb = out + blk * I2S_BLOCK;
#pragma unroll
    for (int p = 0; p < I2S_PLANES; ++p) {
        const u32 c = (byte >> I2S_SHIFT(p)) & ((1u << I2S_CODE_BITS) - 1);
        const int j = p * I2S_PLANE + lane;
        if (c > 2) atomicMin(status, (unsigned long long)(blk * I2S_BLOCK + j));
        yb[j] = (float)ternary_of_code(c) * g;
    }
}

// ---- TL1 runs: byte l = pair l (low nibble) | pair half + l (high nibble) ---
// A run of n weights (n a multiple of 4, n <= 4 * WARP) is n / 4 bytes; pair p
// is weights (2p, 2p + 1) with index 3 * (w0 + 1) + (w1 + 1).

static __device__ __forceinline__ u32 tl1_pair(int w0, int w1) {
    return (u32)(3 * (w0 + TERNARY_BIAS) + (w1 + TERNARY_BIAS));
}

static __device__ __forceinline__ void tl1_encode_run(const float* xr, u8* out, int n, float half,
                                                      int lane) {
    const int bytes = n / 4;
    if (lane >= bytes) return;
    const u32 lo = tl1_pair(ternarize(xr[2 * lane], half), ternarize(xr[2 * lane + 1], half));
    const int q = bytes + lane;
    const u32 hi = tl1_pair(ternarize(xr[2 * q], half), ternarize(xr[2 * q + 1], half));
    out[lane] = (u8)(lo | hi << 4);
}

static __device__ __forceinline__ void tl1_decode_pair(u32 idx, long long first, float g,
                                                       float* y, unsigned long long* status) {
    if (idx > TL1_MAX_INDEX) atomicMin(status, (unsigned long long)first);
    y[0] = (float)((int)(idx / 3) - TERNARY_BIAS) * g;
    y[1] = (float)((int)(idx % 3) - TERNARY_BIAS) * g;
}

static __device__ __forceinline__ void tl1_decode_run(const u8* in, float* yr, int n, float g,
                                                      long long first, int lane,
                                                      unsigned long long* status) {
    const int bytes = n / 4;
    if (lane >= bytes) return;
    const u32 b = in[lane];
    tl1_decode_pair(b & 0xf, first + 2 * lane, g, yr + 2 * lane, status);
    const int q = bytes + lane;
    tl1_decode_pair(b >> 4, first + 2 * q, g, yr + 2 * q, status);
}

static_assert(TL1_BLOCK == 4 * WARP && TL1_BLOCK_BYTES == WARP, "one lane per byte of a TL1 block");

extern "C" __global__ void __launch_bounds__(QUANT_WARPS * WARP)
tl1_quantize(const float* __restrict__ x, u8* __restrict__ out,
             const float* __restrict__ gamma, long long n_blocks) {
    const long long blk = (long long)blockIdx.x * QUANT_WARPS + threadIdx.x / WARP;
    if (blk >= n_blocks) return;
    tl1_encode_run(x + blk * TL1_BLOCK, out + blk * TL1_BLOCK_BYTES, TL1_BLOCK, 0.5f * *gamma,
                   threadIdx.x % WARP);
}

extern "C" __global__ void __launch_bounds__(QUANT_WARPS * WARP)
tl1_dequantize(const u8* __restrict__ in, float* __restrict__ out, long long n_blocks,
               unsigned long long* __restrict__ status) {
    const float g = *(const float*)(in + n_blocks * TL1_BLOCK_BYTES);
    check_gamma(g, status);
    const long long blk = (long long)blockIdx.x * QUANT_WARPS + threadIdx.x / WARP;
    if (blk >= n_blocks) return;
    tl1_decode_run(in + blk * TL1_BLOCK_BYTES, out + blk * TL1_BLOCK, TL1_BLOCK, g,
                   blk * TL1_BLOCK, threadIdx.x % WARP, status);
}

// ---- TL2: per row [mags: B x TL2_MAG_BYTES][signs: B x u32][TL1 tail run] --
// Triple k of block b = weights 96b + 3k .. + 2, d = 9 w0 + 3 w1 + w2,
// magnitude |d| (nibble k % 16 of magnitude byte, high nibble for k >= 16),
// sign bit k = (d < 0). One warp per block, lane = triple; the tail (if any)
// is one more warp item per row.

static_assert(TL2_TRIPLES == WARP && TL2_BLOCK == 3 * TL2_TRIPLES &&
              TL2_MAG_BYTES * 2 == TL2_TRIPLES && TL2_SIGN_BYTES * 8 == TL2_TRIPLES,
              "one lane per triple of a TL2 block");

struct Tl2Row {
    int blocks, tail, row_bytes;
};

static __device__ __forceinline__ Tl2Row tl2_row(int cols) {
    Tl2Row r;
    r.blocks = cols / TL2_BLOCK;
    r.tail = cols % TL2_BLOCK;
    r.row_bytes = r.blocks * (TL2_MAG_BYTES + TL2_SIGN_BYTES) + r.tail / 4;
    return r;
}

extern "C" __global__ void __launch_bounds__(QUANT_WARPS * WARP)
tl2_quantize(const float* __restrict__ x, u8* __restrict__ out,
             const float* __restrict__ gamma, int rows, int cols) {
    const Tl2Row L = tl2_row(cols);
    const int items = L.blocks + (L.tail ? 1 : 0);
    const long long item = (long long)blockIdx.x * QUANT_WARPS + threadIdx.x / WARP;
    if (item >= (long long)rows * items) return;
    const int lane = threadIdx.x % WARP;
    const int r = (int)(item / items), b = (int)(item % items);
    const float half = 0.5f * *gamma;
    const float* xr = x + (size_t)r * cols;
    u8* orow = out + (size_t)r * L.row_bytes;
    if (b == L.blocks) {
        tl1_encode_run(xr + (size_t)L.blocks * TL2_BLOCK, orow + L.blocks * (TL2_MAG_BYTES + TL2_SIGN_BYTES),
                       L.tail, half, lane);
        return;
    }
    const float* xt = xr + (size_t)b * TL2_BLOCK + 3 * lane;
    const int d = 9 * ternarize(xt[0], half) + 3 * ternarize(xt[1], half) + ternarize(xt[2], half);
    const u32 m = (u32)abs(d);
    const u32 signs = __ballot_sync(FULL_MASK, d < 0);
    const u32 m_hi = __shfl_down_sync(FULL_MASK, m, TL2_MAG_BYTES);
    if (lane < TL2_MAG_BYTES) orow[b * TL2_MAG_BYTES + lane] = (u8)(m | m_hi << 4);
    if (lane == 0) *(u32*)(orow + L.blocks * TL2_MAG_BYTES + b * TL2_SIGN_BYTES) = signs;
}

extern "C" __global__ void __launch_bounds__(QUANT_WARPS * WARP)
tl2_dequantize(const u8* __restrict__ in, float* __restrict__ out, int rows, int cols,
               unsigned long long* __restrict__ status) {
    const Tl2Row L = tl2_row(cols);
    const float g = *(const float*)(in + (size_t)rows * L.row_bytes);
    check_gamma(g, status);
    const int items = L.blocks + (L.tail ? 1 : 0);
    const long long item = (long long)blockIdx.x * QUANT_WARPS + threadIdx.x / WARP;
    if (item >= (long long)rows * items) return;
    const int lane = threadIdx.x % WARP;
    const int r = (int)(item / items), b = (int)(item % items);
    const u8* irow = in + (size_t)r * L.row_bytes;
    float* yr = out + (size_t)r * cols;
    const long long first = (long long)r * cols + (long long)b * TL2_BLOCK;
    if (b == L.blocks) {
        tl1_decode_run(irow + L.blocks * (TL2_MAG_BYTES + TL2_SIGN_BYTES), yr + (size_t)L.blocks * TL2_BLOCK,
                       L.tail, g, first, lane, status);
        return;
    }
    const u32 m = (irow[b * TL2_MAG_BYTES + lane % TL2_MAG_BYTES] >> (4 * (lane / TL2_MAG_BYTES))) & 0xf;
    const u32 signs = *(const u32*)(irow + L.blocks * TL2_MAG_BYTES + b * TL2_SIGN_BYTES);
    const int neg = (signs >> lane) & 1;
    if (m > TL2_MAX_MAGNITUDE) atomicMin(status, (unsigned long long)(first + 3 * lane));
    const int v = TL2_MAX_MAGNITUDE + (int)m;  // base-3 value of the positive triple
    int t0 = v / 9 - 1, t1 = (v / 3) % 3 - 1, t2 = v % 3 - 1;
    if (neg) {
        t0 = -t0;
        t1 = -t1;
        t2 = -t2;
    }
    float* yt = yr + (size_t)b * TL2_BLOCK + 3 * lane;
    yt[0] = (float)t0 * g;
    yt[1] = (float)t1 * g;
    yt[2] = (float)t2 * g;
}
