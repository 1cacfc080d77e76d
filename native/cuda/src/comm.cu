// Data-parallel collectives over NCCL: one communicator per process (one GPU per rank), set up
// from a unique id that rank 0 makes and the launcher's transport (MPI's broadcast) carries to
// the others, as llm.c does. Built against NCCL only where CMake found it (HYPER_HAVE_NCCL);
// otherwise every function fails with a message saying so, and the rest of the library works.
#include <cstring>

#include "common.cuh"

#ifdef HYPER_HAVE_NCCL
#include <nccl.h>

namespace {

ncclComm_t g_comm = nullptr;

int nccl_check(ncclResult_t r, const char* what) {
    if (r == ncclSuccess) return 0;
    return hyper::fail((int)r + 1000, "%s: %s", what, ncclGetErrorString(r));
}

__global__ void scale_kernel(float* x, long long n, float scale) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) x[i] *= scale;
}

}  // namespace

int hyper_cuda_comm_unique_id(char* id) {
    static_assert(sizeof(ncclUniqueId) == HYPER_CUDA_COMM_ID_BYTES, "ncclUniqueId changed size");
    ncclUniqueId u;
    HYPER_TRY(nccl_check(ncclGetUniqueId(&u), "ncclGetUniqueId"));
    memcpy(id, &u, sizeof u);
    return 0;
}

int hyper_cuda_comm_init(const char* id, int rank, int world) {
    if (g_comm != nullptr) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "comm init: a communicator is already open");
    if (world < 1 || rank < 0 || rank >= world) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "comm init: rank %d of %d", rank, world);
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    return nccl_check(ncclCommInitRank(&g_comm, world, u, rank), "ncclCommInitRank");
}

int hyper_cuda_comm_all_reduce_sum(float* buf, long long n, float scale) {
    if (g_comm == nullptr) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "comm all-reduce: no communicator (call hyper_cuda_comm_init)");
    if (n <= 0) return 0;
    // On the legacy default stream, like every kernel: ordered after the backward that wrote the
    // gradients and before the optimizer that reads them, without events.
    HYPER_TRY(nccl_check(ncclAllReduce(buf, buf, (size_t)n, ncclFloat, ncclSum, g_comm, 0), "ncclAllReduce"));
    if (scale != 1.0f) {
        scale_kernel<<<hyper::grid_for(n, 256), 256>>>(buf, n, scale);
        HYPER_TRY(hyper::launched("comm scale"));
    }
    return 0;
}

int hyper_cuda_comm_destroy(void) {
    if (g_comm == nullptr) return 0;
    ncclComm_t c = g_comm;
    g_comm = nullptr;
    return nccl_check(ncclCommDestroy(c), "ncclCommDestroy");
}

#else

static int no_nccl() { return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "libhypercuda was built without NCCL (install NCCL and rebuild native/cuda)"); }

int hyper_cuda_comm_unique_id(char*) { return no_nccl(); }
int hyper_cuda_comm_init(const char*, int, int) { return no_nccl(); }
int hyper_cuda_comm_all_reduce_sum(float*, long long, float) { return no_nccl(); }
int hyper_cuda_comm_destroy(void) { return 0; }

#endif
