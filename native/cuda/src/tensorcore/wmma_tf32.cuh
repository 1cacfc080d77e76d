// What the tensor-core kernels share: WMMA and the rounding of a loaded fragment to TF32.
#pragma once

#include <mma.h>

namespace hyper {

// load_matrix_sync gives a TF32 fragment plain fp32 values; mma_sync expects them already rounded
// (round to nearest, ties away: cvt.rna.tf32.f32).
template <typename Fragment>
__device__ __forceinline__ void to_tf32(Fragment& f) {
#pragma unroll
    for (int t = 0; t < f.num_elements; t++) f.x[t] = nvcuda::wmma::__float_to_tf32(f.x[t]);
}

}  // namespace hyper
