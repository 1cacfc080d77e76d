// hypercuda_check: exercises the library where the managed tests cannot run (no dotnet). Checks
// the matmul variants (forward and backward), the attention variants and grouped-query attention
// (forward, backward, decoding) against plain CPU loops on odd shapes, then times the matmul
// variants at 4096^3 (and cuBLAS SGEMM, fp32 and TF32, when built with it) unless --quick. One JSON
// object per line; the exit code is 1 when any check fails. A variant left out of the build
// (HYPER_CUDA_NOT_BUILT) is reported skipped, not failed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cuda_runtime.h>

#include "check_inputs.h"
#include "hyper_cuda.h"
#ifdef HYPER_HAVE_CUBLAS
#include <cublas_v2.h>
#endif

static int g_failures = 0;

// fp32 variants sum in another order than the CPU loop: ~1e-6 relative; an indexing bug gives ~1.
static const double kTolerance = 1e-4;

static float* to_device(const std::vector<float>& host) {
    void* p = nullptr;
    if (hyper_cuda_malloc(&p, (long long)host.size() * 4) != 0 || hyper_cuda_upload(p, host.data(), (long long)host.size() * 4) != 0) {
        fprintf(stderr, "device memory: %s\n", hyper_cuda_last_error());
        exit(2);
    }
    return (float*)p;
}

// Output buffers start as NaN, not as the expected result: a kernel that writes nothing (or only
// part of its output) must fail its check rather than pass on what the harness put there.
static std::vector<float> unwritten(size_t n) { return std::vector<float>(n, NAN); }

static void reset_to_unwritten(float* device, size_t n) {
    auto nan = unwritten(n);
    if (hyper_cuda_upload(device, nan.data(), (long long)n * 4) != 0) {
        fprintf(stderr, "device memory: %s\n", hyper_cuda_last_error());
        exit(2);
    }
}

static double rel_error(const float* device, const std::vector<float>& expected) {
    std::vector<float> got(expected.size());
    hyper_cuda_download(got.data(), device, (long long)got.size() * 4);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < got.size(); i++) {
        diff += (double)(got[i] - expected[i]) * (got[i] - expected[i]);
        norm += (double)expected[i] * expected[i];
    }
    return sqrt(diff) / (norm > 0 ? sqrt(norm) : 1.0);
}

static void report(const char* op, int variant, const char* shape, int rc, double err, double tolerance = kTolerance) {
    if (rc == HYPER_CUDA_NOT_BUILT) {
        printf("{\"kind\":\"check\",\"op\":\"%s\",\"variant\":%d,\"shape\":\"%s\",\"ok\":null,\"skipped\":\"%s\"}\n", op, variant, shape,
               hyper_cuda_last_error());
        return;
    }
    bool ok = rc == 0 && err <= tolerance;
    if (!ok) g_failures++;
    printf("{\"kind\":\"check\",\"op\":\"%s\",\"variant\":%d,\"shape\":\"%s\",\"rel_error\":%.3g,\"ok\":%s,\"error\":\"%s\"}\n", op, variant, shape,
           err, ok ? "true" : "false", rc == 0 ? "" : hyper_cuda_last_error());
}

static void check_matmul(int N, int C, int OC) {
    auto inp = random_vector((size_t)N * C, 1), w = random_vector((size_t)OC * C, 2), b = random_vector(OC, 3);
    std::vector<float> ref((size_t)N * OC);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            float s = b[o];
            for (int c = 0; c < C; c++) s += inp[(size_t)n * C + c] * w[(size_t)o * C + c];
            ref[(size_t)n * OC + o] = s;
        }
    float *d_inp = to_device(inp), *d_w = to_device(w), *d_b = to_device(b), *d_out = to_device(unwritten(ref.size()));
    char shape[64];
    snprintf(shape, sizeof shape, "N=%d C=%d OC=%d", N, C, OC);
    // The backward's two GEMMs read their operands the other ways round (dout^T, weight by rows):
    // dinp[N,C] = dout . weight and dweight[OC,C] = dout^T . inp, from zero (the backward accumulates).
    auto dout = random_vector((size_t)N * OC, 9);
    std::vector<float> ref_dinp((size_t)N * C), ref_dw((size_t)OC * C), zeros_inp((size_t)N * C), zeros_w((size_t)OC * C);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            float g = dout[(size_t)n * OC + o];
            for (int c = 0; c < C; c++) {
                ref_dinp[(size_t)n * C + c] += g * w[(size_t)o * C + c];
                ref_dw[(size_t)o * C + c] += g * inp[(size_t)n * C + c];
            }
        }
    float *d_dout = to_device(dout), *d_dinp = to_device(zeros_inp), *d_dw = to_device(zeros_w);
    for (int v = 0; v <= HYPER_MATMUL_TF32; v++) {
        double tolerance = v == HYPER_MATMUL_TF32 ? kTf32Tolerance : kTolerance;
        reset_to_unwritten(d_out, ref.size()); // each variant starts from NaN, not from the last one's result
        int rc = hyper_cuda_matmul_forward(d_out, d_inp, d_w, d_b, N, C, OC, v);
        if (rc == 0) rc = hyper_cuda_synchronize();
        report("matmul", v, shape, rc, rc == 0 ? rel_error(d_out, ref) : NAN, tolerance);
        hyper_cuda_upload(d_dinp, zeros_inp.data(), (long long)zeros_inp.size() * 4);
        hyper_cuda_upload(d_dw, zeros_w.data(), (long long)zeros_w.size() * 4);
        rc = hyper_cuda_matmul_backward(d_dinp, d_dw, nullptr, d_dout, d_inp, d_w, N, C, OC, v);
        if (rc == 0) rc = hyper_cuda_synchronize();
        report("matmul backward", v, shape, rc, rc == 0 ? fmax(rel_error(d_dinp, ref_dinp), rel_error(d_dw, ref_dw)) : NAN, tolerance);
    }
    for (float* d : {d_inp, d_w, d_b, d_out, d_dout, d_dinp, d_dw}) hyper_cuda_free(d);
}

static void check_attention(int B, int T, int C, int NH) {
    auto qkv = random_vector((size_t)B * T * 3 * C, 4);
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    std::vector<float> ref((size_t)B * T * C), score(T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                const float* q = &qkv[((size_t)b * T + i) * 3 * C + h * hs];
                float mx = -INFINITY, sum = 0;
                for (int j = 0; j <= i; j++) {
                    const float* k = &qkv[((size_t)b * T + j) * 3 * C + C + h * hs];
                    float s = 0;
                    for (int d = 0; d < hs; d++) s += q[d] * k[d];
                    score[j] = s * scale;
                    mx = fmaxf(mx, score[j]);
                }
                for (int j = 0; j <= i; j++) sum += (score[j] = expf(score[j] - mx));
                float* o = &ref[((size_t)b * T + i) * C + h * hs];
                for (int j = 0; j <= i; j++)
                    for (int d = 0; d < hs; d++) o[d] += score[j] / sum * qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + d];
            }
    float *d_qkv = to_device(qkv), *d_out = to_device(unwritten(ref.size())), *d_lse = to_device(std::vector<float>((size_t)B * NH * T));
    char shape[64];
    snprintf(shape, sizeof shape, "B=%d T=%d C=%d NH=%d", B, T, C, NH);
    for (int v = 0; v <= HYPER_ATTENTION_FLASH_TF32; v++) {
        reset_to_unwritten(d_out, ref.size());
        int rc = hyper_cuda_attention_forward(d_out, d_lse, d_qkv, B, T, C, NH, 1, v);
        if (rc == 0) rc = hyper_cuda_synchronize();
        report("attention", v, shape, rc, rc == 0 ? rel_error(d_out, ref) : NAN, v == HYPER_ATTENTION_FLASH_TF32 ? kTf32Tolerance : kTolerance);
    }
    hyper_cuda_free(d_qkv), hyper_cuda_free(d_out), hyper_cuda_free(d_lse);
}

// Grouped-query attention against plain CPU loops: the forward (out), then the backward from zero
// gradients (dq, dk, dv; the backward's dk and dv sum over each group's query heads), and decoding
// (out of the last Tq tokens over a cache holding the first pos, which must equal the forward's rows).
static void check_gqa(int B, int T, int NH, int NKV, int hs) {
    int G = NH / NKV;
    size_t nq = (size_t)B * T * NH * hs, nkv = (size_t)B * T * NKV * hs;
    auto q = random_vector(nq, 5), k = random_vector(nkv, 6), v = random_vector(nkv, 7), g = random_vector(nq, 8);
    float scale = 1.0f / sqrtf((float)hs);
    std::vector<float> out(nq), lse((size_t)B * NH * T), dq(nq), dk(nkv), dv(nkv), p(T);
    auto Q = [&](int b, int t, int h) { return ((size_t)b * T + t) * NH * hs + (size_t)h * hs; };
    auto K = [&](int b, int t, int h) { return ((size_t)b * T + t) * NKV * hs + (size_t)(h / G) * hs; };
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                float mx = -INFINITY, sum = 0, D = 0;
                for (int j = 0; j <= i; j++) {
                    float s = 0;
                    for (int d = 0; d < hs; d++) s += q[Q(b, i, h) + d] * k[K(b, j, h) + d];
                    p[j] = s * scale;
                    mx = fmaxf(mx, p[j]);
                }
                for (int j = 0; j <= i; j++) sum += (p[j] = expf(p[j] - mx));
                for (int j = 0; j <= i; j++)
                    for (int d = 0; d < hs; d++) out[Q(b, i, h) + d] += p[j] / sum * v[K(b, j, h) + d];
                lse[((size_t)b * NH + h) * T + i] = mx + logf(sum);
                for (int d = 0; d < hs; d++) D += g[Q(b, i, h) + d] * out[Q(b, i, h) + d];
                for (int j = 0; j <= i; j++) {
                    float pj = p[j] / sum, dp = 0;
                    for (int d = 0; d < hs; d++) dp += g[Q(b, i, h) + d] * v[K(b, j, h) + d];
                    float ds = pj * (dp - D) * scale;
                    for (int d = 0; d < hs; d++) {
                        dv[K(b, j, h) + d] += pj * g[Q(b, i, h) + d];
                        dq[Q(b, i, h) + d] += ds * k[K(b, j, h) + d];
                        dk[K(b, j, h) + d] += ds * q[Q(b, i, h) + d];
                    }
                }
            }
    std::vector<float> zq(nq), zkv(nkv);
    float *d_q = to_device(q), *d_k = to_device(k), *d_v = to_device(v), *d_g = to_device(g), *d_out = to_device(zq);
    float *d_lse = to_device(std::vector<float>(lse.size())), *d_dq = to_device(zq), *d_dk = to_device(zkv), *d_dv = to_device(zkv);
    char shape[80];
    snprintf(shape, sizeof shape, "B=%d T=%d NH=%d NKV=%d hs=%d", B, T, NH, NKV, hs);
    int rc = hyper_cuda_grouped_query_attention_forward(d_out, d_lse, d_q, d_k, d_v, B, T, NH, NKV, hs);
    if (rc == 0) rc = hyper_cuda_synchronize();
    report("gqa forward", 0, shape, rc, rc == 0 ? fmax(rel_error(d_out, out), rel_error(d_lse, lse)) : NAN);
    rc = hyper_cuda_grouped_query_attention_backward(d_dq, d_dk, d_dv, d_g, d_q, d_k, d_v, d_out, d_lse, B, T, NH, NKV, hs);
    if (rc == 0) rc = hyper_cuda_synchronize();
    report("gqa backward", 0, shape, rc, rc == 0 ? fmax(rel_error(d_dq, dq), fmax(rel_error(d_dk, dk), rel_error(d_dv, dv))) : NAN);
    // Decoding: the first T - 2 tokens already cached (copied in), the last two appended by the call.
    int Tq = T < 2 ? T : 2, pos = T - Tq, maxT = T + 3;
    size_t kvw = (size_t)NKV * hs;
    std::vector<float> kc((size_t)B * maxT * kvw), vc(kc.size()), qn((size_t)B * Tq * NH * hs), kn((size_t)B * Tq * kvw), vn(kn.size()),
        expect(qn.size());
    for (int b = 0; b < B; b++) {
        for (size_t e = 0; e < (size_t)pos * kvw; e++) {
            kc[(size_t)b * maxT * kvw + e] = k[(size_t)b * T * kvw + e];
            vc[(size_t)b * maxT * kvw + e] = v[(size_t)b * T * kvw + e];
        }
        for (size_t e = 0; e < (size_t)Tq * kvw; e++) {
            kn[(size_t)b * Tq * kvw + e] = k[((size_t)b * T + pos) * kvw + e];
            vn[(size_t)b * Tq * kvw + e] = v[((size_t)b * T + pos) * kvw + e];
        }
        for (size_t e = 0; e < (size_t)Tq * NH * hs; e++) {
            qn[(size_t)b * Tq * NH * hs + e] = q[((size_t)b * T + pos) * NH * hs + e];
            expect[(size_t)b * Tq * NH * hs + e] = out[((size_t)b * T + pos) * NH * hs + e];
        }
    }
    float *d_kc = to_device(kc), *d_vc = to_device(vc), *d_qn = to_device(qn), *d_kn = to_device(kn), *d_vn = to_device(vn),
          *d_on = to_device(std::vector<float>(qn.size()));
    rc = hyper_cuda_grouped_query_attention_kv_forward(d_on, d_kc, d_vc, d_qn, d_kn, d_vn, B, Tq, pos, maxT, NH, NKV, hs);
    if (rc == 0) rc = hyper_cuda_synchronize();
    report("gqa kv", 0, shape, rc, rc == 0 ? rel_error(d_on, expect) : NAN);
    for (float* d : {d_q, d_k, d_v, d_g, d_out, d_lse, d_dq, d_dk, d_dv, d_kc, d_vc, d_qn, d_kn, d_vn, d_on}) hyper_cuda_free(d);
}

static void time_matmul(int n) {
    auto a = random_vector((size_t)n * n, 5);
    float *d_a = to_device(a), *d_w = to_device(a), *d_out = to_device(a);
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    double flops = 2.0 * n * n * n;
    // -2 and -1: cuBLAS SGEMM with TF32 tensor cores and in plain fp32, the bars for tf32 and the rest.
    const char* names[] = {"cublas_tf32", "cublas", "naive", "tiled", "blocked", "tf32"};
    for (int v = -2; v <= HYPER_MATMUL_TF32; v++) {
        bool cublas = v < 0;
#ifdef HYPER_HAVE_CUBLAS
        cublasHandle_t handle;
        if (cublas) {
            cublasCreate(&handle);
            cublasSetMathMode(handle, v == -2 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
        }
#else
        if (cublas) continue;
#endif
        const char* name = names[v + 2];
        float best = 1e30f;
        int rc = 0;
        for (int r = 0; r < (v == 0 ? 3 : 10) && rc == 0; r++) {
            cudaEventRecord(start);
#ifdef HYPER_HAVE_CUBLAS
            if (cublas) {
                // out^T[OC,N] = W[OC,C] . inp^T in column-major terms: the engine's row-major out = inp . W^T.
                const float one = 1.0f, zero = 0.0f;
                rc = (int)cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, d_w, n, d_a, n, &zero, d_out, n);
            } else
#endif
                rc = hyper_cuda_matmul_forward(d_out, d_a, d_w, nullptr, n, n, n, v);
            cudaEventRecord(stop);
            // A launch that failed (or faulted while running) times nothing: without these checks it
            // reported the empty interval between the two events as a huge GFLOP/s.
            if (rc == 0) rc = (int)cudaEventSynchronize(stop);
            if (rc == 0) rc = hyper_cuda_synchronize();
            float ms = 0;
            if (rc == 0) rc = (int)cudaEventElapsedTime(&ms, start, stop);
            if (rc == 0 && ms < best) best = ms;
        }
        if (rc == HYPER_CUDA_NOT_BUILT) {
            printf("{\"kind\":\"matmul\",\"variant\":\"%s\",\"shape\":\"%dx%dx%d\",\"skipped\":\"%s\"}\n", name, n, n, n, hyper_cuda_last_error());
        } else if (rc != 0) {
            g_failures++;
            printf("{\"kind\":\"matmul\",\"variant\":\"%s\",\"shape\":\"%dx%dx%d\",\"ok\":false,\"error\":\"code %d: %s\"}\n", name, n, n, n, rc,
                   cublas ? "cublas" : hyper_cuda_last_error());
        } else {
            printf("{\"kind\":\"matmul\",\"variant\":\"%s\",\"shape\":\"%dx%dx%d\",\"ms\":%.4f,\"gflops\":%.1f}\n", name, n, n, n, best,
                   flops / (best * 1e6));
        }
#ifdef HYPER_HAVE_CUBLAS
        if (cublas) cublasDestroy(handle);
#endif
    }
    hyper_cuda_free(d_a), hyper_cuda_free(d_w), hyper_cuda_free(d_out);
}

// --quick skips the 4096^3 timing: compute-sanitizer runs the checks alone, timing there is meaningless.
int main(int argc, char** argv) {
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int count = 0;
    if (hyper_cuda_device_count(&count) != 0 || count == 0 || hyper_cuda_init(0) != 0) {
        fprintf(stderr, "no CUDA device: %s\n", hyper_cuda_last_error());
        return 2;
    }
    char name[256];
    int major, minor, sms;
    long long bytes;
    hyper_cuda_device_info(name, sizeof name, &major, &minor, &bytes, &sms);
    printf("{\"kind\":\"device\",\"name\":\"%s\",\"cc\":\"%d.%d\",\"bytes\":%lld,\"sms\":%d}\n", name, major, minor, bytes, sms);
    check_matmul(67, 45, 33);
    check_matmul(256, 128, 384);
    check_matmul(130, 260, 132);
    check_attention(2, 37, 48, 3);
    check_attention(1, 129, 128, 2);
    check_attention(1, 70, 256, 2);  // hs = 128: the tensor-core kernel at its largest shared memory
    check_gqa(2, 37, 6, 2, 48);
    check_gqa(1, 70, 8, 1, 128);
    check_gqa(2, 9, 4, 4, 5);
    if (!quick) time_matmul(4096);
    fflush(stdout);
    return g_failures == 0 ? 0 : 1;
}
