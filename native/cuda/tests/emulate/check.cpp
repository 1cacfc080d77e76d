// Checks the tensor-core kernels, run on the host emulation (emulate.sh), against double-precision
// loops: matmul tf32 in every operand layout the forward and backward use, on odd and on aligned
// (float4) shapes, with bias and accumulation; the flash_tf32 attention forward at head sizes 16,
// 64 and 128, causal and not, and as decoding (queries after a cached prefix, grouped heads).
// Tolerance: kTf32Tolerance, hypercuda_check's for TF32 (check_inputs.h says why). Exit code 1 on a failure.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../../src/tensorcore/tensor_cores.cuh"
#include "../check_inputs.h"

static int g_failures = 0;
static double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < want.size(); i++) {
        double d = std::isfinite(got[i]) ? got[i] - want[i] : 1e30;
        diff += d * d;
        norm += want[i] * want[i];
    }
    return sqrt(diff) / (norm > 0 ? sqrt(norm) : 1.0);
}

static void report(const char* what, int rc, double err) {
    bool ok = rc == 0 && err <= kTf32Tolerance;
    if (!ok) g_failures++;
    printf("%-4s %-70s rel_error %.3g%s\n", ok ? "ok" : "FAIL", what, err, rc == 0 ? "" : " (launch refused)");
}

// C[M,Nc] (+)= A . B (+ bias) with A, B stored either way round, as matmul.cu's gemm passes them.
static void check_gemm(int M, int Nc, int K, bool a_k, bool b_k, bool with_bias, int accumulate) {
    int lda = a_k ? K : M, ldb = b_k ? K : Nc;
    auto a = random_vector((size_t)M * K, 1), b = random_vector((size_t)K * Nc, 2), bias = random_vector(Nc, 3), c = random_vector((size_t)M * Nc, 4);
    std::vector<double> want((size_t)M * Nc);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < Nc; n++) {
            double s = with_bias ? bias[n] : 0.0;
            for (int k = 0; k < K; k++) s += (double)a[a_k ? (size_t)m * lda + k : (size_t)k * lda + m] * b[b_k ? (size_t)n * ldb + k : (size_t)k * ldb + n];
            want[(size_t)m * Nc + n] = accumulate ? c[(size_t)m * Nc + n] + s : s;
        }
    std::vector<float> got = accumulate ? c : std::vector<float>((size_t)M * Nc, NAN);
    int rc = hyper::gemm_tf32(got.data(), M, Nc, K, a.data(), a_k, lda, b.data(), b_k, ldb, with_bias ? bias.data() : nullptr, accumulate);
    char what[128];
    snprintf(what, sizeof what, "matmul tf32 M=%d N=%d K=%d A %s B %s%s%s", M, Nc, K, a_k ? "k-major" : "m-major", b_k ? "k-major" : "n-major",
             with_bias ? " +bias" : "", accumulate ? " +=" : "");
    report(what, rc, rc == 0 ? rel_error(got, want) : NAN);
}

// Attention over separate q[B,Tq,NH,hs] and k, v[B,Tk,NKV,hs]; query t sits at position q_pos + t.
static void check_attention(int B, int Tq, int Tk, int NH, int NKV, int hs, int causal, int q_pos) {
    int group = NH / NKV;
    auto q = random_vector((size_t)B * Tq * NH * hs, 5), k = random_vector((size_t)B * Tk * NKV * hs, 6), v = random_vector((size_t)B * Tk * NKV * hs, 7);
    std::vector<double> want_out((size_t)B * Tq * NH * hs), want_lse((size_t)B * NH * Tq), s(Tk);
    double scale = 1.0 / sqrt((double)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < Tq; i++) {
                int visible = causal ? std::min(Tk, q_pos + i + 1) : Tk;
                const float* qi = &q[(((size_t)b * Tq + i) * NH + h) * hs];
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < visible; j++) {
                    const float* kj = &k[(((size_t)b * Tk + j) * NKV + h / group) * hs];
                    double dot = 0;
                    for (int d = 0; d < hs; d++) dot += (double)qi[d] * kj[d];
                    s[j] = dot * scale;
                    mx = std::max(mx, s[j]);
                }
                for (int j = 0; j < visible; j++) sum += (s[j] = exp(s[j] - mx));
                double* o = &want_out[(((size_t)b * Tq + i) * NH + h) * hs];
                for (int j = 0; j < visible; j++)
                    for (int d = 0; d < hs; d++) o[d] += s[j] / sum * v[(((size_t)b * Tk + j) * NKV + h / group) * hs + d];
                want_lse[((size_t)b * NH + h) * Tq + i] = mx + log(sum);
            }
    std::vector<float> out(want_out.size(), NAN), lse(want_lse.size(), NAN);
    long long q_row = (long long)NH * hs, kv_row = (long long)NKV * hs;
    hyper::AttentionProblem p{out.data(), lse.data(), q.data(), k.data(), v.data(), q_row, kv_row, kv_row, q_row,
                              Tq * q_row, Tk * kv_row, Tk * kv_row, Tq * q_row, Tq, Tk, NH, group, hs, causal, q_pos, (float)scale};
    int rc = hyper::launch_attention_flash_tf32(p, B);
    char what[128];
    snprintf(what, sizeof what, "attention flash_tf32 B=%d Tq=%d Tk=%d NH=%d NKV=%d hs=%d causal=%d q_pos=%d", B, Tq, Tk, NH, NKV, hs, causal, q_pos);
    // lse is compared as exp(lse): its error relative to the row sums, which is what the backward uses.
    std::vector<float> got_l(lse.size());
    std::vector<double> want_l(lse.size());
    for (size_t i = 0; i < lse.size(); i++) got_l[i] = expf(lse[i]), want_l[i] = exp(want_lse[i]);
    report(what, rc, rc == 0 ? std::max(rel_error(out, want_out), rel_error(got_l, want_l)) : NAN);
}

int main() {
    for (int a_k = 0; a_k < 2; a_k++)
        for (int b_k = 0; b_k < 2; b_k++) {
            check_gemm(130, 67, 45, a_k, b_k, a_k && b_k, 0);  // odd: every edge, scalar loads
            check_gemm(132, 136, 72, a_k, b_k, false, 1);      // multiples of 4: float4 loads, partial tiles
        }
    check_gemm(5, 3, 0, true, true, true, 0);  // K = 0: bias alone
    check_attention(2, 70, 70, 3, 3, 16, 1, 0);
    check_attention(1, 70, 70, 2, 2, 64, 1, 0);
    check_attention(1, 70, 70, 2, 2, 128, 1, 0);
    check_attention(1, 37, 37, 2, 2, 48, 0, 0);
    check_attention(1, 200, 200, 2, 2, 64, 1, 0);  // four key tiles: the running max grows, O is rescaled
    check_attention(2, 3, 70, 4, 2, 64, 1, 67);  // decoding: 3 new queries over a 67-token prefix, grouped heads
    printf("%s\n", g_failures == 0 ? "all passed" : "FAILED");
    return g_failures == 0 ? 0 : 1;
}
