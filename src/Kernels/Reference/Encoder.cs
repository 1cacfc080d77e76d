using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Token plus position embedding: the first op of GPT-2. The readable truth for faster encoders.
/// <para>
/// Layouts: tokens[B,T] are ids in [0, V); wte[V,C] has one row per token id, wpe[maxT,C] one row
/// per position (maxT ≥ T); out[B,T,C]. The type parameter is <c>TNum</c> because <c>T</c> is the
/// sequence length.
/// </para>
/// </summary>
public static class Encoder
{
    /// <summary>out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] (overwrites).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token id is negative or not below V = wte.Length / C.</exception>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<int> tokens, ReadOnlySpan<TNum> wte, ReadOnlySpan<TNum> wpe,
        int B, int T, int C) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        int V = wte.Length / C;
        for (int bt = 0; bt < B * T; bt++)
        {
            int token = tokens[bt];
            ArgumentOutOfRangeException.ThrowIfNegative(token, nameof(tokens));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, V, nameof(tokens));
            int t = bt % T;
            for (int c = 0; c < C; c++)
                output[bt * C + c] = wte[token * C + c] + wpe[t * C + c];
        }
    }

    /// <summary>
    /// dwte[tokens[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:] (accumulates). Rows are added
    /// in (b,t) order; a token that occurs several times gets all its rows summed in that order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A token id is negative or not below V = dwte.Length / C.</exception>
    public static void Backward<TNum>(Span<TNum> dwte, Span<TNum> dwpe, ReadOnlySpan<TNum> dout, ReadOnlySpan<int> tokens,
        int B, int T, int C) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        int V = dwte.Length / C;
        for (int bt = 0; bt < B * T; bt++)
        {
            int token = tokens[bt];
            ArgumentOutOfRangeException.ThrowIfNegative(token, nameof(tokens));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, V, nameof(tokens));
            int t = bt % T;
            for (int c = 0; c < C; c++)
            {
                dwte[token * C + c] += dout[bt * C + c];
                dwpe[t * C + c] += dout[bt * C + c];
            }
        }
    }
}
