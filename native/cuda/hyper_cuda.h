/*
 * hyper_cuda.h: the C ABI of libhypercuda, Hyper's hand-written CUDA kernels.
 *
 * Conventions (the same as the managed IBackend, llm.c's): outputs first, then inputs, then
 * dimensions. B batch, T time, C channels, NH heads, V vocabulary, N = B*T rows, OC output
 * channels. Every float pointer is DEVICE memory (from hyper_cuda_malloc) unless its comment
 * says host; token ids and targets are HOST int arrays (small; the library uploads them).
 * Every backward accumulates (+=) into its gradients, except softmax_cross_entropy_backward,
 * which overwrites so it can run in place on the probabilities.
 *
 * Every function returns 0 on success and a nonzero code otherwise: a cudaError_t value, or
 * HYPER_CUDA_BAD_ARGUMENT for arguments the library rejects before launching anything. The
 * message for the last failure is hyper_cuda_last_error(). Kernels run in order on the legacy
 * default stream; downloads and hyper_cuda_synchronize wait for them. Not thread-safe: one
 * host thread drives the library.
 *
 * The managed bindings (src/Runtime/Backends/Cuda/CudaNative.cs) mirror these declarations one
 * for one; a test parses this header to keep the two in step.
 */
#ifndef HYPER_CUDA_H
#define HYPER_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

#define HYPER_CUDA_BAD_ARGUMENT (-1)
/* The variant asked for was left out of this build (the optional tensor-core kernels,
   CMake option HYPER_CUDA_TENSOR_CORES); nothing was launched. */
#define HYPER_CUDA_NOT_BUILT (-2)

/* Kernel-lab variants. Every variant of an op computes the same function; the TF32 ones round their
   inputs to a 10-bit mantissa, so they match the fp32 ones to about 1e-3 relative, not 1e-6. */
#define HYPER_MATMUL_NAIVE 0           /* one thread per output, no reuse */
#define HYPER_MATMUL_TILED 1           /* 32x32 shared-memory tiles, one output per thread */
#define HYPER_MATMUL_BLOCKED 2         /* register-blocked: 128x128 tiles, 8x8 outputs per thread, float4, double-buffered */
#define HYPER_MATMUL_TF32 3            /* TF32 tensor cores (WMMA m16n16k8, fp32 accumulate; sm_80+): 128x128 tiles, 8 warps */
#define HYPER_ATTENTION_NAIVE 0        /* one thread per query row, three passes over the keys */
#define HYPER_ATTENTION_FLASH 1        /* key/value tiles in shared memory, online softmax, one warp per row */
#define HYPER_ATTENTION_FLASH_TF32 2   /* the flash forward with Q.K^T and P.V on TF32 tensor cores (WMMA; sm_80+), fp32 softmax */

/* ---- device and memory ---------------------------------------------------------------- */

/* Selects device `device` and creates its context. Call once before anything else. */
int hyper_cuda_init(int device);
/* Number of CUDA devices (0 when the driver finds none; that is not an error). */
int hyper_cuda_device_count(int* count);
/* The selected device: name (NUL-terminated, truncated to capacity), compute capability,
   global memory in bytes, multiprocessor count. */
int hyper_cuda_device_info(char* name, int capacity, int* major, int* minor, long long* total_bytes, int* multiprocessors);
/* The message of the last failure (static storage; empty when none). */
const char* hyper_cuda_last_error(void);
/* Allocates `bytes` of device memory, zero-filled. */
int hyper_cuda_malloc(void** ptr, long long bytes);
int hyper_cuda_free(void* ptr);
/* Host -> device and device -> host copies of `bytes`; both wait until the copy is done. */
int hyper_cuda_upload(void* device_dst, const void* host_src, long long bytes);
int hyper_cuda_download(void* host_dst, const void* device_src, long long bytes);
int hyper_cuda_zero(void* ptr, long long bytes);
/* Device -> device copy. */
int hyper_cuda_copy(void* dst, const void* src, long long bytes);
/* Waits for every launched kernel; reports an error any of them raised. */
int hyper_cuda_synchronize(void);

/* ---- ops ------------------------------------------------------------------------------ */

/* *result (host) = sum of x[i]^2 in double. */
int hyper_cuda_sum_of_squares(double* result, const float* x, long long n);

/* out[B,T,C] = wte[tokens[b,t]] + wpe[t]; tokens (host) must lie in [0, V). */
int hyper_cuda_encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B, int T, int C, int V);
/* dwte[V,C] += dout scattered by token; dwpe[T,C] += dout summed over the batch. */
int hyper_cuda_encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens, int B, int T, int C, int V);

/* out[N,C] = (inp - mean) * rstd * weight + bias; mean[N], rstd[N] written for the backward. */
int hyper_cuda_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias, int N, int C, float eps);
/* dinp[N,C], dweight[C], dbias[C] += the layernorm gradients. */
int hyper_cuda_layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                                  const float* mean, const float* rstd, int N, int C);

/* out[N,OC] = inp[N,C] * weight[OC,C]^T + bias[OC]; bias may be NULL. */
int hyper_cuda_matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC, int variant);
/* dinp[N,C] += dout * weight (skipped when dinp is NULL); dweight[OC,C] += dout^T * inp;
   dbias[OC] += column sums of dout (skipped when dbias is NULL). */
int hyper_cuda_matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                               int N, int C, int OC, int variant);

/* Multi-head attention over qkv[B,T,3C] (q, k, v side by side; head h in channels [h*hs, (h+1)*hs)
   of each, hs = C/NH <= 128); out[B,T,C]; lse[B,NH,T] = each query row's log-sum-exp of scores
   q.k/sqrt(hs). causal: key j visible to query i iff j <= i. */
int hyper_cuda_attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH, int causal, int variant);
/* dqkv[B,T,3C] += the attention gradients, recomputing the probabilities from qkv and lse. */
int hyper_cuda_attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                                  int B, int T, int C, int NH, int causal);
/* Writes the k, v of qkv[B,Tq,3C] into k_cache[B,maxT,C], v_cache[B,maxT,C] at positions
   pos..pos+Tq-1, then out[B,Tq,C] = causal attention of the Tq queries over cached keys 0..pos+t. */
int hyper_cuda_attention_kv_forward(float* out, float* k_cache, float* v_cache, const float* qkv, int B, int Tq, int pos, int maxT, int C, int NH);

/* out[n] = gelu(inp[n]), tanh form. */
int hyper_cuda_gelu_forward(float* out, const float* inp, long long N);
/* dinp[n] += gelu'(inp[n]) * dout[n]. */
int hyper_cuda_gelu_backward(float* dinp, const float* inp, const float* dout, long long N);
/* out[n] = a[n] + b[n]. */
int hyper_cuda_residual_forward(float* out, const float* a, const float* b, long long N);
/* da[n] += dout[n]; db[n] += dout[n]. */
int hyper_cuda_residual_backward(float* da, float* db, const float* dout, long long N);

/* probs[N,Vp] = softmax over each row's first V logits (probs may equal logits), zeros in columns V..Vp
   (the padded vocabulary; Vp >= V); losses[N] = logsumexp - logit[target]; a negative target (host)
   ignores the row (loss 0). */
int hyper_cuda_softmax_cross_entropy_forward(float* losses, float* probs, const float* logits, const int* targets, int N, int V, int Vp);
/* dlogits[N,Vp] = (probs - onehot(target)) * dloss in the first V columns, 0 in the padding, overwriting
   (dlogits may equal probs); zero for ignored rows. */
int hyper_cuda_softmax_cross_entropy_backward(float* dlogits, const float* probs, const int* targets, float dloss, int N, int V, int Vp);

/* One AdamW step (PyTorch semantics) over n parameters with gradients scaled by grad_scale; step >= 1. */
int hyper_cuda_adamw_update(float* params, float* m, float* v, const float* grads, long long n, float lr, float beta1, float beta2,
                            float eps, float weight_decay, int step, float grad_scale);

/* RMSNorm: out[N,C] = inp * rstd * weight, rstd[N] = 1/sqrt(mean(inp^2) + eps) kept (out may equal inp). */
int hyper_cuda_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps);
/* dinp[N,C], dweight[C] += the RMSNorm gradients. */
int hyper_cuda_rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, const float* rstd,
                                int N, int C);
/* Rotary embedding, rotate-half: out[B,T,H,hs] = inp rotated by the angles of positions pos0..pos0+T-1 from
   cos_table/sin_table[P, hs/2] (out may equal inp). */
int hyper_cuda_rope_forward(float* out, const float* inp, const float* cos_table, const float* sin_table, int B, int T, int H, int hs,
                            int pos0);
/* dinp[B,T,H,hs] += dout rotated back. */
int hyper_cuda_rope_backward(float* dinp, const float* dout, const float* cos_table, const float* sin_table, int B, int T, int H, int hs,
                             int pos0);
/* out[n] = silu(gate[n]) * up[n] (out may equal gate or up). */
int hyper_cuda_swiglu_forward(float* out, const float* gate, const float* up, long long N);
/* dgate[n], dup[n] += the SwiGLU gradients. */
int hyper_cuda_swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, long long N);

/* Causal grouped-query attention: q/out[B,T,NH,hs], k/v[B,T,NKV,hs] (separate buffers, a token's heads side by
   side); query head h reads key/value head h/(NH/NKV); NH a multiple of NKV, hs <= 128; lse[B,NH,T] as for attention. */
int hyper_cuda_grouped_query_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int B, int T, int NH,
                                               int NKV, int hs);
/* dq[B,T,NH,hs], dk[B,T,NKV,hs], dv[B,T,NKV,hs] += the grouped-query attention gradients (each dk, dv row sums its group's query heads). */
int hyper_cuda_grouped_query_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                                const float* v, const float* out, const float* lse, int B, int T, int NH, int NKV, int hs);
/* Writes k, v[B,Tq,NKV,hs] into k_cache/v_cache[B,maxT,NKV,hs] at positions pos..pos+Tq-1, then out[B,Tq,NH,hs] = causal
   grouped-query attention of q[B,Tq,NH,hs] over cached keys 0..pos+t. */
int hyper_cuda_grouped_query_attention_kv_forward(float* out, float* k_cache, float* v_cache, const float* q, const float* k, const float* v,
                                                  int B, int Tq, int pos, int maxT, int NH, int NKV, int hs);

/* ---- data-parallel collectives (comm.cu) ------------------------------------------------ */

/* NCCL's unique id: rank 0 makes it, the launcher's transport (MPI) carries it to every rank. */
#define HYPER_CUDA_COMM_ID_BYTES 128

/* Writes a fresh unique id (host, HYPER_CUDA_COMM_ID_BYTES bytes). Fails where the library was built without NCCL. */
int hyper_cuda_comm_unique_id(char* id);
/* Joins the communicator of `world` ranks named by `id` (host) as rank `rank`; one per process. */
int hyper_cuda_comm_init(const char* id, int rank, int world);
/* buf[n] = scale * (sum over the ranks of buf), in place, ordered with the kernels. */
int hyper_cuda_comm_all_reduce_sum(float* buf, long long n, float scale);
/* Closes the communicator (nothing to do when none is open). */
int hyper_cuda_comm_destroy(void);

#ifdef __cplusplus
}
#endif

#endif /* HYPER_CUDA_H */
