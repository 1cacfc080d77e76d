// Device selection, memory, copies, error messages and the scratch the ops share.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common.cuh"

namespace hyper {

static char g_last_error[512] = "";
static void* g_scratch[kScratchSlots] = {};
static size_t g_scratch_bytes[kScratchSlots] = {};

int fail(int code, const char* format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(g_last_error, sizeof g_last_error, format, args);
    va_end(args);
    return code;
}

int check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return 0;
    return fail((int)e, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

int scratch(ScratchSlot slot, size_t bytes, void** device) {
    if (g_scratch_bytes[slot] < bytes) {
        // Grow by half again so a slowly growing size does not reallocate every call.
        size_t grown = bytes + bytes / 2;
        if (g_scratch[slot] != nullptr) HYPER_TRY(check(cudaFree(g_scratch[slot]), "scratch free"));
        g_scratch[slot] = nullptr;
        g_scratch_bytes[slot] = 0;
        HYPER_TRY(check(cudaMalloc(&g_scratch[slot], grown), "scratch alloc"));
        g_scratch_bytes[slot] = grown;
    }
    *device = g_scratch[slot];
    return 0;
}

int upload_ints(const int* host, long long n, const int** device) {
    void* d = nullptr;
    HYPER_TRY(scratch(kScratchInts, (size_t)(n > 0 ? n : 1) * sizeof(int), &d));
    if (n > 0) HYPER_TRY(check(cudaMemcpy(d, host, (size_t)n * sizeof(int), cudaMemcpyHostToDevice), "upload ids"));
    *device = (const int*)d;
    return 0;
}

}  // namespace hyper

using namespace hyper;

extern "C" {

int hyper_cuda_init(int device) {
    HYPER_TRY(check(cudaSetDevice(device), "cudaSetDevice"));
    // cudaFree(0) forces the context to be created now, so a broken driver fails here.
    return check(cudaFree(nullptr), "context creation");
}

int hyper_cuda_device_count(int* count) {
    *count = 0;
    cudaError_t e = cudaGetDeviceCount(count);
    // No device or no driver is an answer (0), not a failure; the message says which.
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        check(e, "cudaGetDeviceCount");
        cudaGetLastError();
        *count = 0;
        return 0;
    }
    return check(e, "cudaGetDeviceCount");
}

int hyper_cuda_device_info(char* name, int capacity, int* major, int* minor, long long* total_bytes, int* multiprocessors) {
    int device = 0;
    HYPER_TRY(check(cudaGetDevice(&device), "cudaGetDevice"));
    cudaDeviceProp p;
    HYPER_TRY(check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties"));
    if (capacity > 0) {
        strncpy(name, p.name, (size_t)capacity - 1);
        name[capacity - 1] = '\0';
    }
    *major = p.major;
    *minor = p.minor;
    *total_bytes = (long long)p.totalGlobalMem;
    *multiprocessors = p.multiProcessorCount;
    return 0;
}

const char* hyper_cuda_last_error(void) { return g_last_error; }

int hyper_cuda_malloc(void** ptr, long long bytes) {
    *ptr = nullptr;
    if (bytes < 0) return fail(HYPER_CUDA_BAD_ARGUMENT, "malloc: negative size %lld", bytes);
    size_t n = bytes > 0 ? (size_t)bytes : 1;
    HYPER_TRY(check(cudaMalloc(ptr, n), "cudaMalloc"));
    return check(cudaMemset(*ptr, 0, n), "cudaMemset");
}

int hyper_cuda_free(void* ptr) { return check(cudaFree(ptr), "cudaFree"); }

int hyper_cuda_upload(void* device_dst, const void* host_src, long long bytes) {
    if (bytes <= 0) return 0;
    return check(cudaMemcpy(device_dst, host_src, (size_t)bytes, cudaMemcpyHostToDevice), "upload");
}

int hyper_cuda_download(void* host_dst, const void* device_src, long long bytes) {
    if (bytes <= 0) return 0;
    return check(cudaMemcpy(host_dst, device_src, (size_t)bytes, cudaMemcpyDeviceToHost), "download");
}

int hyper_cuda_zero(void* ptr, long long bytes) {
    if (bytes <= 0) return 0;
    return check(cudaMemset(ptr, 0, (size_t)bytes), "zero");
}

int hyper_cuda_copy(void* dst, const void* src, long long bytes) {
    if (bytes <= 0) return 0;
    return check(cudaMemcpy(dst, src, (size_t)bytes, cudaMemcpyDeviceToDevice), "copy");
}

int hyper_cuda_synchronize(void) { return check(cudaDeviceSynchronize(), "synchronize"); }

}  // extern "C"
