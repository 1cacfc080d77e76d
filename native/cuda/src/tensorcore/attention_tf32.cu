// Attention forward variant 2 (flash_tf32): the flash forward of attention.cu with its two products,
// S = Q.K^T and O += P.V, on tensor cores through WMMA, TF32 inputs (q, k, p and v each rounded to a
// 10-bit mantissa) and fp32 accumulation; the online softmax itself (max, exp, sums, rescaling)
// stays in fp32.
//
// A block takes 64 query rows of one (batch, head), 4 warps of 16 rows; 64-key tiles of K and V are
// staged in shared memory. Each warp keeps its Q rows as TF32 fragments in registers, scores a tile
// into shared memory, and two lanes per row run the online softmax there, writing p in place. The
// running output O lives in shared memory, not in accumulator fragments: the fragments' element-to-
// lane map is unspecified, and the softmax rescales O row by row. The head is zero-padded to HP
// (32, 64 or 128 channels: WMMA's k is 8 and its n 16), which changes no dot product. Shared memory
// is dynamic, 45 KiB at HP = 32 up to 116 KiB at HP = 128 (sm_80 allows 163 KiB, sm_90 227 KiB).
#include "tensor_cores.cuh"
#include "wmma_tf32.cuh"

namespace {

using namespace nvcuda;
using hyper::to_tf32;
using Problem = hyper::AttentionProblem;

constexpr int kWarps = 4;
constexpr int kQueries = kWarps * 16;  // query rows per block
constexpr int kKeys = 64;              // keys per tile
constexpr int kLdS = kKeys + 4;        // row stride of the scores: a multiple of 4 floats, as WMMA needs

__device__ __forceinline__ int visible_keys(const Problem& p, int i) { return p.causal ? min(p.Tk, p.q_pos + i + 1) : p.Tk; }

template <int HP>
constexpr size_t shared_bytes() {
    return sizeof(float) * ((size_t)2 * kKeys * (HP + 4) + (size_t)kQueries * (HP + 4) + (size_t)kQueries * kLdS);
}

template <int HP>
__global__ void __launch_bounds__(kWarps * 32) attention_flash_tf32(Problem p) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    constexpr int kLd = HP + 4;  // row stride of K, V, O: a multiple of 4 floats, 4 banks of skew
    // Every region and every fragment pointer below sits a multiple of 8 floats (32 bytes, WMMA's
    // alignment) from this base.
    extern __shared__ __align__(128) float smem[];
    float(*ks)[kLd] = reinterpret_cast<float(*)[kLd]>(smem);                             // [kKeys][kLd]
    float(*vs)[kLd] = reinterpret_cast<float(*)[kLd]>(smem + kKeys * kLd);               // [kKeys][kLd]
    float(*os)[kLd] = reinterpret_cast<float(*)[kLd]>(smem + 2 * kKeys * kLd);           // [kQueries][kLd]
    float(*ss)[kLdS] = reinterpret_cast<float(*)[kLdS]>(smem + (2 * kKeys + kQueries) * kLd);  // [kQueries][kLdS]
    int b = blockIdx.y / p.NH, h = blockIdx.y % p.NH, g = h / p.group;  // g: the key/value head
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int q0 = blockIdx.x * kQueries, r0 = warp * 16;  // r0: the warp's first row in the block's tile
    // Two lanes per row for the softmax and the epilogue: lane 2r and 2r+1 take row r, half each.
    int r = lane / 2, half = lane % 2, i = q0 + r0 + r;
    int visible = i < p.Tq ? visible_keys(p, i) : 0;
    int last = min(p.Tq, q0 + r0 + 16) - 1;
    int warp_keys = q0 + r0 < p.Tq ? visible_keys(p, last) : 0;  // keys any of the warp's rows sees
    int block_keys = visible_keys(p, min(p.Tq, q0 + kQueries) - 1);

    // The warp's Q rows go through its own rows of O (not yet in use) into TF32 fragments.
    for (int e = lane; e < 16 * HP; e += 32) {
        int rr = e / HP, d = e % HP, qi = q0 + r0 + rr;
        os[r0 + rr][d] = (qi < p.Tq && d < p.hs) ? p.q[b * p.q_batch + (long long)qi * p.q_row + h * p.hs + d] : 0.0f;
    }
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> qf[HP / 8];
#pragma unroll
    for (int dd = 0; dd < HP / 8; dd++) {
        wmma::load_matrix_sync(qf[dd], &os[r0][dd * 8], kLd);
        to_tf32(qf[dd]);
    }
    __syncwarp();
    for (int e = lane; e < 16 * kLd; e += 32) os[r0 + e / kLd][e % kLd] = 0.0f;
    float m = -INFINITY, l = 0.0f;

    for (int j0 = 0; j0 < block_keys; j0 += kKeys) {
        __syncthreads();  // every warp is done with the previous tile
        for (int e = threadIdx.x; e < kKeys * HP; e += blockDim.x) {
            int jj = e / HP, d = e % HP, j = j0 + jj;
            bool ok = j < p.Tk && d < p.hs;
            ks[jj][d] = ok ? p.k[b * p.k_batch + (long long)j * p.k_row + g * p.hs + d] : 0.0f;
            vs[jj][d] = ok ? p.v[b * p.v_batch + (long long)j * p.v_row + g * p.hs + d] : 0.0f;
        }
        __syncthreads();
        if (j0 >= warp_keys) continue;  // warp-uniform: none of the warp's rows sees this tile

        // S[16, kKeys] = Q . K^T; K read column-major: element (d, key) at ks[key][d].
#pragma unroll
        for (int nf = 0; nf < kKeys / 16; nf++) {
            wmma::fragment<wmma::accumulator, 16, 16, 8, float> sf;
            wmma::fill_fragment(sf, 0.0f);
#pragma unroll
            for (int dd = 0; dd < HP / 8; dd++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> kf;
                wmma::load_matrix_sync(kf, &ks[nf * 16][dd * 8], kLd);
                to_tf32(kf);
                wmma::mma_sync(sf, qf[dd], kf, sf);
            }
            wmma::store_matrix_sync(&ss[r0][nf * 16], sf, kLdS, wmma::mem_row_major);
        }
        __syncwarp();

        // Online softmax of row r over its visible keys of the tile; p replaces s in place.
        float* srow = ss[r0 + r];
        int c0 = half * (kKeys / 2), c1 = c0 + kKeys / 2;
        float tile_max = -INFINITY;
        for (int c = c0; c < c1; c++)
            if (j0 + c < visible) tile_max = fmaxf(tile_max, srow[c] * p.scale);
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
        float m_new = fmaxf(m, tile_max);
        // A row that has seen no key yet (m_new = -inf) keeps O = 0 and l = 0: rescale 1, every p 0.
        float rescale = m_new == -INFINITY ? 1.0f : expf(m - m_new);
        float sum = 0.0f;
        for (int c = c0; c < c1; c++) {
            float pj = j0 + c < visible ? expf(srow[c] * p.scale - m_new) : 0.0f;
            srow[c] = pj;
            sum += pj;
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * rescale + sum;
        m = m_new;
        for (int d = half * (HP / 2); d < (half + 1) * (HP / 2); d++) os[r0 + r][d] *= rescale;
        __syncwarp();

        // O[16, HP] += P . V; V read row-major: element (key, d) at vs[key][d].
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> pf[kKeys / 8];
#pragma unroll
        for (int kk = 0; kk < kKeys / 8; kk++) {
            wmma::load_matrix_sync(pf[kk], &ss[r0][kk * 8], kLdS);
            to_tf32(pf[kk]);
        }
#pragma unroll
        for (int nf = 0; nf < HP / 16; nf++) {
            wmma::fragment<wmma::accumulator, 16, 16, 8, float> of;
            wmma::load_matrix_sync(of, &os[r0][nf * 16], kLd, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < kKeys / 8; kk++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> vf;
                wmma::load_matrix_sync(vf, &vs[kk * 8][nf * 16], kLd);
                to_tf32(vf);
                wmma::mma_sync(of, pf[kk], vf, of);
            }
            wmma::store_matrix_sync(&os[r0][nf * 16], of, kLd, wmma::mem_row_major);
        }
        __syncwarp();  // O and the scores are written before the next tile's softmax reads them
    }

    if (i >= p.Tq) return;
    // Every real row saw at least key 0, so l > 0.
    float* o = p.out + b * p.out_batch + (long long)i * p.out_row + h * p.hs;
    for (int d = half; d < p.hs; d += 2) o[d] = os[r0 + r][d] / l;
    if (p.lse != nullptr && half == 0) p.lse[(long long)blockIdx.y * p.Tq + i] = m + logf(l);
#else
    __trap();  // no TF32 tensor cores below sm_80; the launcher refuses such devices first
#endif
}

template <int HP>
int launch(const Problem& p, int B) {
    constexpr size_t bytes = shared_bytes<HP>();
    // Over 48 KiB of dynamic shared memory has to be asked for per kernel.
    HYPER_TRY(hyper::check(cudaFuncSetAttribute(attention_flash_tf32<HP>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes),
                           "attention flash tf32 shared memory"));
    dim3 grid((unsigned)((p.Tq + kQueries - 1) / kQueries), (unsigned)(B * p.NH));
    attention_flash_tf32<HP><<<grid, kWarps * 32, bytes>>>(p);
    return hyper::launched("attention flash tf32");
}

}  // namespace

int hyper::launch_attention_flash_tf32(const Problem& p, int B) {
    HYPER_TRY(require_tensor_cores("attention flash tf32"));
    if (p.hs <= 32) return launch<32>(p, B);
    if (p.hs <= 64) return launch<64>(p, B);
    return launch<128>(p, B);
}
