using ILGPU;

namespace Hyper.Kernels.Ilgpu;

// Variant 2 of the matmul: register blocking on top of the shared-memory tiles.
public static partial class Matmul
{
    /// <summary>Side of the output block of <see cref="Blocked"/>: 4×4 outputs per thread of a Tile×Tile group.</summary>
    public const int Block = 4 * Tile;

    /// <summary>
    /// Variant 2: a Tile×Tile group computes a Block×Block (64×64) block of out, each thread a 4×4
    /// grid of it (rows ty + 16r, columns tx + 16c, so neighbouring threads read neighbouring
    /// shared floats). Per step of the summed dimension a thread reads 4 floats of A and 4 of B
    /// from shared memory and does 16 multiply-adds with them in registers, against 2 reads per
    /// multiply-add in <see cref="Tiled"/>. Grid (⌈N/Block⌉, ⌈M/Block⌉) groups of (Tile, Tile).
    /// </summary>
    public static void Blocked(ArrayView<float> output, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s)
    {
        var tileA = SharedMemory.Allocate<float>(Block * Tile); // tileA[r,kk] = A(i0 + r, k0 + kk)
        var tileB = SharedMemory.Allocate<float>(Tile * Block); // tileB[kk,c] = B(k0 + kk, j0 + c)
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * Tile + tx;
        int i0 = Grid.IdxY * Block, j0 = Grid.IdxX * Block;
        float s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        float s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (int k0 = 0; k0 < s.K; k0 += Tile)
        {
            // Each of the 256 threads loads 4 floats of each tile; out-of-range ones are zeros.
            for (int l = tid; l < Block * Tile; l += Tile * Tile)
            {
                int r = l / Tile, kk = l % Tile;
                tileA[l] = i0 + r < s.M && k0 + kk < s.K ? a[(i0 + r) * s.ARow + (k0 + kk) * s.ACol] : 0f;
                int kb = l / Block, c = l % Block;
                tileB[l] = k0 + kb < s.K && j0 + c < s.N ? b[(k0 + kb) * s.BRow + (j0 + c) * s.BCol] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < Tile; kk++)
            {
                float a0 = tileA[ty * Tile + kk], a1 = tileA[(ty + Tile) * Tile + kk];
                float a2 = tileA[(ty + 2 * Tile) * Tile + kk], a3 = tileA[(ty + 3 * Tile) * Tile + kk];
                float b0 = tileB[kk * Block + tx], b1 = tileB[kk * Block + tx + Tile];
                float b2 = tileB[kk * Block + tx + 2 * Tile], b3 = tileB[kk * Block + tx + 3 * Tile];
                s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
                s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
                s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
                s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
            }
            Group.Barrier();
        }
        int i = i0 + ty, j = j0 + tx;
        StoreRow(output, bias, s, i, j, s00, s01, s02, s03);
        StoreRow(output, bias, s, i + Tile, j, s10, s11, s12, s13);
        StoreRow(output, bias, s, i + 2 * Tile, j, s20, s21, s22, s23);
        StoreRow(output, bias, s, i + 3 * Tile, j, s30, s31, s32, s33);
    }

    /// <summary>Stores one thread's four outputs of row i (columns j, j+16, j+32, j+48) that fall inside out.</summary>
    private static void StoreRow(ArrayView<float> output, ArrayView<float> bias, GemmShape s, int i, int j, float v0, float v1, float v2, float v3)
    {
        if (i >= s.M) return;
        if (j < s.N) Store(output, bias, s, i, j, v0);
        if (j + Tile < s.N) Store(output, bias, s, i, j + Tile, v1);
        if (j + 2 * Tile < s.N) Store(output, bias, s, i, j + 2 * Tile, v2);
        if (j + 3 * Tile < s.N) Store(output, bias, s, i, j + 3 * Tile, v3);
    }
}
