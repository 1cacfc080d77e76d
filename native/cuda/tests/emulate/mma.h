// Host emulation of nvcuda::wmma for emulate.sh. A fragment holds its whole tile in every lane (the
// real element-to-lane map is unspecified, and the kernels must not depend on it); a store writes
// only the elements this lane would own under one possible map (element e to lane e % 32), so a
// missing __syncwarp between a store and another lane's read shows up as stale data. mma_sync
// checks that TF32 operands were rounded (the low 13 mantissa bits zero), as the hardware assumes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major { static constexpr bool is_col = false; };
struct col_major { static constexpr bool is_col = true; };
namespace precision {
struct tf32 {};
}
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K> struct shape;
template <int M, int N, int K> struct shape<matrix_a, M, N, K> { static constexpr int rows = M, cols = K; };
template <int M, int N, int K> struct shape<matrix_b, M, N, K> { static constexpr int rows = K, cols = N; };
template <int M, int N, int K> struct shape<accumulator, M, N, K> { static constexpr int rows = M, cols = N; };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static constexpr int rows = shape<Use, M, N, K>::rows, cols = shape<Use, M, N, K>::cols;
    static constexpr int num_elements = rows * cols;
    float x[num_elements];  // element (i, j) at x[i * cols + j]
};

inline float __float_to_tf32(float in) {
    // Round to nearest, ties away from zero, keeping 10 mantissa bits (cvt.rna.tf32.f32).
    uint32_t bits;
    memcpy(&bits, &in, 4);
    bits = (bits + 0x1000u) & 0xffffe000u;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

template <typename Use, int M, int N, int K, typename T, typename Layout>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const float* p, unsigned ldm) {
    using F = fragment<Use, M, N, K, T, Layout>;
    if (((uintptr_t)p & 31) != 0 || ldm % 4 != 0) {
        fprintf(stderr, "load_matrix_sync: pointer %p or ldm %u breaks WMMA's alignment\n", (const void*)p, ldm);
        abort();
    }
    for (int i = 0; i < F::rows; i++)
        for (int j = 0; j < F::cols; j++)
            f.x[i * F::cols + j] = Layout::is_col ? p[(size_t)j * ldm + i] : p[(size_t)i * ldm + j];
}

template <int M, int N, int K, typename T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const float* p, unsigned ldm, layout_t layout) {
    using F = fragment<accumulator, M, N, K, T>;
    for (int i = 0; i < F::rows; i++)
        for (int j = 0; j < F::cols; j++) f.x[i * F::cols + j] = layout == mem_col_major ? p[(size_t)j * ldm + i] : p[(size_t)i * ldm + j];
}

template <int M, int N, int K, typename T>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
    using F = fragment<accumulator, M, N, K, T>;
    if (((uintptr_t)p & 31) != 0 || ldm % 4 != 0) {
        fprintf(stderr, "store_matrix_sync: pointer %p or ldm %u breaks WMMA's alignment\n", (void*)p, ldm);
        abort();
    }
    unsigned lane = threadIdx.x % 32;
    for (int e = (int)lane; e < F::num_elements; e += 32) {
        int i = e / F::cols, j = e % F::cols;
        (layout == mem_col_major ? p[(size_t)j * ldm + i] : p[(size_t)i * ldm + j]) = f.x[e];
    }
}

template <typename Use, int M, int N, int K, typename T, typename Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float v) {
    for (float& x : f.x) x = v;
}

inline bool is_tf32(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return (bits & 0x1fffu) == 0;
}

template <int M, int N, int K, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, precision::tf32, LA>& a,
              const fragment<matrix_b, M, N, K, precision::tf32, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    for (float v : a.x)
        if (!is_tf32(v)) { fprintf(stderr, "mma_sync: an A element was not rounded to TF32\n"); abort(); }
    for (float v : b.x)
        if (!is_tf32(v)) { fprintf(stderr, "mma_sync: a B element was not rounded to TF32\n"); abort(); }
    float out[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = c.x[i * N + j];
            for (int k = 0; k < K; k++) s += a.x[i * K + k] * b.x[k * N + j];
            out[i * N + j] = s;
        }
    memcpy(d.x, out, sizeof out);
}

}  // namespace wmma
}  // namespace nvcuda
