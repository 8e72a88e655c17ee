// Rotary position embedding, in place on x[tokens][heads][head_dim].
// Token t sits at position pos0 + t. Pair i (0 <= i < n_rot / 2) rotates by
// angle pos * theta_base^(-2i / n_rot). Two pairings:
//   ROPE_NEOX:   (i, i + n_rot / 2)   (llama.cpp's NEOX style)
//   ROPE_NORMAL: (2i, 2i + 1)         (adjacent pairs)
// Dimensions past n_rot are left untouched. One thread per pair; the precise
// powf/sincosf (not the __ intrinsics) keep large positions accurate.

extern "C" __global__ void __launch_bounds__(ELEM_THREADS)
rope(float* __restrict__ x, int tokens, int heads, int head_dim, int n_rot,
     int pos0, float theta_base, int style) {
    const int half = n_rot / 2;
    const long long idx = (long long)blockIdx.x * ELEM_THREADS + threadIdx.x;
    if (idx >= (long long)tokens * heads * half) return;
    const int i = (int)(idx % half);
    const long long th = idx / half;
    const int t = (int)(th / heads);
    float* v = x + th * head_dim;
    const float freq = powf(theta_base, -2.0f * (float)i / (float)n_rot);
    const float angle = (float)(pos0 + t) * freq;
    float s, c;
    sincosf(angle, &s, &c);
    const int i0 = style == ROPE_NEOX ? i : 2 * i;
    const int i1 = style == ROPE_NEOX ? i + half : 2 * i + 1;
    const float a = v[i0], b = v[i1];
    v[i0] = a * c - b * s;
    v[i1] = a * s + b * c;
}
