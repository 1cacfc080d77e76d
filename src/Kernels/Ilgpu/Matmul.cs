using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// The fully connected layer's products as ILGPU kernels, in numbered variants for the kernel
/// lab (every variant computes the same <see cref="GemmShape"/> product): a naive kernel, one
/// thread per output reading straight from global memory, and a tiled kernel that stages 16×16
/// tiles of A and B in shared memory so each global float is read once per tile instead of once
/// per output, and a register-blocked kernel (<see cref="Blocked"/>). Empty bias views are passed as a one-float dummy with <see cref="GemmShape.HasBias"/> 0.
/// </summary>
public static partial class Matmul
{
    /// <summary>Side of the square tiles of <see cref="Tiled"/>; its group is Tile×Tile threads.</summary>
    public const int Tile = 16;

    /// <summary>Variant 0: each out(i,j) from a dot product over global memory, a grid-stride loop over M·N (no barriers).</summary>
    public static void Naive(ArrayView<float> output, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s)
    {
        for (int index = Grid.GlobalIndex.X; index < s.M * s.N; index += GridStride.Step)
        {
            int i = index / s.N, j = index % s.N;
            float sum = 0;
            for (int k = 0; k < s.K; k++) sum += a[i * s.ARow + k * s.ACol] * b[k * s.BRow + j * s.BCol];
            Store(output, bias, s, i, j, sum);
        }
    }

    /// <summary>
    /// Variant 1: shared-memory tiles. Group (Tile, Tile) threads computes a Tile×Tile block of
    /// out; grid (⌈N/Tile⌉, ⌈M/Tile⌉) groups. Out-of-range elements of edge tiles are loaded as
    /// zeros so every thread runs the same loop and reaches every barrier.
    /// </summary>
    public static void Tiled(ArrayView<float> output, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s)
    {
        var tileA = SharedMemory.Allocate<float>(Tile * Tile); // tileA[ty,kk] = A(i, k0+kk)
        var tileB = SharedMemory.Allocate<float>(Tile * Tile); // tileB[kk,tx] = B(k0+kk, j)
        int tx = Group.IdxX, ty = Group.IdxY;
        int i = Grid.IdxY * Tile + ty, j = Grid.IdxX * Tile + tx;
        // The thread that loads A(i, k0+tx) is in row ty of the block; the one that loads
        // B(k0+ty, j) in column tx: each load is one float per thread per tile.
        float sum = 0;
        for (int k0 = 0; k0 < s.K; k0 += Tile)
        {
            tileA[ty * Tile + tx] = i < s.M && k0 + tx < s.K ? a[i * s.ARow + (k0 + tx) * s.ACol] : 0f;
            tileB[ty * Tile + tx] = k0 + ty < s.K && j < s.N ? b[(k0 + ty) * s.BRow + j * s.BCol] : 0f;
            Group.Barrier();
            for (int kk = 0; kk < Tile; kk++) sum += tileA[ty * Tile + kk] * tileB[kk * Tile + tx];
            Group.Barrier();
        }
        if (i < s.M && j < s.N) Store(output, bias, s, i, j, sum);
    }

    /// <summary>dbias[o] += Σₙ dout[n,o], one thread per output channel of a grid-stride loop over OC.</summary>
    public static void BackwardBias(ArrayView<float> dbias, ArrayView<float> dout, int N, int OC)
    {
        for (int o = Grid.GlobalIndex.X; o < OC; o += GridStride.Step)
        {
            float sum = 0;
            for (int n = 0; n < N; n++) sum += dout[n * OC + o];
            dbias[o] += sum;
        }
    }

    private static void Store(ArrayView<float> output, ArrayView<float> bias, GemmShape s, int i, int j, float sum)
    {
        if (s.HasBias != 0) sum += bias[j];
        if (s.Accumulate != 0) output[i * s.N + j] += sum;
        else output[i * s.N + j] = sum;
    }
}
