// Gated FFN activation: out = act(gate) * up, element-wise.
//   ACT_RELU2: act(g) = max(g, 0)^2      (BitNet b1.58 2B4T, LLM_FFN_RELU_SQR)
//   ACT_SILU:  act(g) = g / (1 + e^-g)    (llama.cpp `bitnet`)
// float4 vector loads (n is a multiple of 4, checked on the host).

static __device__ __forceinline__ float act_one(float g, int kind) {
    if (kind == ACT_RELU2) {
        const float r = fmaxf(g, 0.0f);
        return r * r;
    }
    return g / (1.0f + expf(-g));
}

extern "C" __global__ void __launch_bounds__(ELEM_THREADS)
gated_act(const float* __restrict__ gate, const float* __restrict__ up,
          float* __restrict__ out, long long n4, int kind) {
    const long long i = (long long)blockIdx.x * ELEM_THREADS + threadIdx.x;
    if (i >= n4) return;
    const float4 g = ((const float4*)gate)[i];
    const float4 u = ((const float4*)up)[i];
    ((float4*)out)[i] = make_float4(act_one(g.x, kind) * u.x, act_one(g.y, kind) * u.y,
                                    act_one(g.z, kind) * u.z, act_one(g.w, kind) * u.w);
}
