// Shared by every kernel file (the host puts this file first and builds all of them as one
// program). Conventions:
// - A tensor argument is a buffer and an offset in floats (`x, x_off`): views are ranges of one
//   allocation, and offsets as arguments need none of the alignment sub-buffers require.
// - Dimensions follow the host's IBackend: outputs first, then inputs, then sizes.
// - WG, the work-group size of the row-reduction kernels (a power of two), is set by the host
//   with -D WG=n after it has read the device's limit.
// - Indices within a view are int: a view is at most 2^31 floats, as on the host.

// The sum of v over the work-group; every work-item gets it. Ends with a barrier so that the
// scratch can be reused by the next reduction at once.
inline float wg_sum(__local float* scratch, float v)
{
    int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1)
    {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// The maximum of v over the work-group, as wg_sum.
inline float wg_max(__local float* scratch, float v)
{
    int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1)
    {
        if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
