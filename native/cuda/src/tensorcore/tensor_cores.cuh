// The tensor-core kernels (this folder) as the rest of the library sees them. They are a separate,
// optional part of the build (CMake option HYPER_CUDA_TENSOR_CORES, which defines
// HYPER_HAVE_TENSOR_CORES): where they fail to compile, the library is built without them and their
// variants report HYPER_CUDA_NOT_BUILT instead of running.
#pragma once

#include "../attention.cuh"

namespace hyper {

// 0 when the current device has TF32 tensor cores (compute capability 8.0 or later); otherwise a
// HYPER_CUDA_BAD_ARGUMENT naming op, before anything is launched.
int require_tensor_cores(const char* op);

// C[M,Nc] (+)= A[M,K] . B[K,Nc] (+ bias[n]) on TF32 tensor cores (WMMA m16n16k8, fp32 accumulate).
// Operand addressing as matmul.cu's gemm: a_k: A(m,k) = a[m*lda + k], else a[k*lda + m];
// b_k: B(k,n) = b[n*ldb + k], else b[k*ldb + n].
int gemm_tf32(float* c, int M, int Nc, int K, const float* a, bool a_k, int lda, const float* b, bool b_k, int ldb, const float* bias,
              int accumulate);

// The flash forward with Q.K^T and P.V on TF32 tensor cores; the same problem and limits as
// launch_attention_flash (hs <= kAttentionMaxHead, B*NH <= 65535, the caller's to check).
int launch_attention_flash_tf32(const AttentionProblem& p, int B);

}  // namespace hyper
