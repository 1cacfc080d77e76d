using System.Numerics.Tensors;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Token plus position embedding on the CPU. Layouts as <see cref="Reference.Encoder"/>:
/// tokens[B,T], wte[V,C], wpe[maxT,C], out[B,T,C].
/// <para>
/// Both directions are bit-identical to the reference: each output element is the same single
/// add, and the backward adds every row of dout in (b,t) order. The backward is split by
/// channel range, not by token: a token can occur many times in a batch, so two threads owning
/// different (b,t) rows could both add into the same dwte row; owning columns, each thread is
/// the only writer of its slice of every dwte/dwpe row and the order of adds is the serial one.
/// </para>
/// </summary>
public static class Encoder
{
    // Below this many floats of work a second thread costs more to wake than it saves.
    private const int MinWork = 1 << 15;

    // Column ranges are multiples of 16 floats: on 64-byte-aligned rows, two threads never share a cache line.
    private const int ColumnBlock = 16;

    /// <summary>out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] (overwrites).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token id is negative or not below V = wte.Length / C.</exception>
    public static unsafe void Forward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe,
        int B, int T, int C)
    {
        int N = B * T;
        CheckShapes(output.Length, tokens, wte.Length, wpe.Length, B, T, C);
        if (N == 0 || C == 0) return;
        fixed (float* pOut = output, pWte = wte, pWpe = wpe)
        fixed (int* pTok = tokens)
        {
            float* o = pOut, te = pWte, pe = pWpe;
            int* tok = pTok;
            CpuParallel.ForRange(N, Math.Max(1, MinWork / C), (start, end) =>
            {
                for (int bt = start; bt < end; bt++)
                    TensorPrimitives.Add(new ReadOnlySpan<float>(te + (long)tok[bt] * C, C), new ReadOnlySpan<float>(pe + (long)(bt % T) * C, C),
                        new Span<float>(o + (long)bt * C, C));
            });
        }
    }

    /// <summary>dwte[tokens[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:] (accumulates).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token id is negative or not below V = dwte.Length / C.</exception>
    public static unsafe void Backward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> dout, ReadOnlySpan<int> tokens,
        int B, int T, int C)
    {
        int N = B * T;
        CheckShapes(dout.Length, tokens, dwte.Length, dwpe.Length, B, T, C);
        if (N == 0 || C == 0) return;
        int blocks = (C + ColumnBlock - 1) / ColumnBlock;
        fixed (float* pDwte = dwte, pDwpe = dwpe, pDout = dout)
        fixed (int* pTok = tokens)
        {
            float* gte = pDwte, gpe = pDwpe, g = pDout;
            int* tok = pTok;
            CpuParallel.ForRange(blocks, (int)Math.Max(1, MinWork / ((long)N * ColumnBlock)), (first, last) =>
            {
                int c0 = first * ColumnBlock, width = Math.Min(C, last * ColumnBlock) - c0;
                for (int bt = 0; bt < N; bt++)
                {
                    var d = new ReadOnlySpan<float>(g + (long)bt * C + c0, width);
                    var te = new Span<float>(gte + (long)tok[bt] * C + c0, width);
                    var pe = new Span<float>(gpe + (long)(bt % T) * C + c0, width);
                    TensorPrimitives.Add(te, d, te);
                    TensorPrimitives.Add(pe, d, pe);
                }
            });
        }
    }

    // The kernels index through pointers, so every length and token is checked up front.
    private static void CheckShapes(int activations, ReadOnlySpan<int> tokens, int tableLength, int positionsLength, int B, int T, int C)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(B);
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfNegative(C);
        long N = (long)B * T;
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens.Length, N, nameof(tokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(activations, N * C, "output/dout");
        ArgumentOutOfRangeException.ThrowIfLessThan(positionsLength, (long)T * C, "wpe/dwpe");
        if (C == 0) return;
        int V = tableLength / C;
        for (int i = 0; i < N; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(tokens[i], nameof(tokens));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(tokens[i], V, nameof(tokens));
        }
    }
}
