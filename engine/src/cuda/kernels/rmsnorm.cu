// RMSNorm: out[r][c] = x[r][c] / sqrt(mean_c(x[r]^2) + eps) * weight[c].
// One block per row; the sum of squares is reduced with warp shuffles.
// 1/sqrt is computed with a correctly rounded sqrtf and division (not the
// approximate rsqrtf) so results track the CPU closely.

extern "C" __global__ void __launch_bounds__(ROW_THREADS)
rmsnorm(const float* __restrict__ x, const float* __restrict__ weight,
        float* __restrict__ out, int cols, float eps) {
    __shared__ float scratch[ROW_THREADS / WARP];
    const size_t row = blockIdx.x;
    const float* xr = x + row * cols;
    float* yr = out + row * cols;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < cols; i += ROW_THREADS) ss = fmaf(xr[i], xr[i], ss);
    ss = block_sum_f32<ROW_THREADS>(ss, scratch);
    const float inv = 1.0f / sqrtf(ss / (float)cols + eps);
    for (int i = threadIdx.x; i < cols; i += ROW_THREADS) yr[i] = xr[i] * inv * weight[i];
}
