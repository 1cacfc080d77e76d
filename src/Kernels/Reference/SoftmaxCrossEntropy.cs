using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Softmax over the vocabulary fused with the cross-entropy loss: GPT-2's last op. The readable truth.
/// <para>
/// Layouts: logits/probs/dlogits[N,V] row-major, N = B·T rows; targets[N] are ids in [0, V) or
/// negative for a row to ignore (padding); losses[N]. probs may be the same memory as logits and
/// dlogits the same memory as probs, so at V = 50257 one [N,V] buffer serves all three.
/// </para>
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// probs[n,:] = softmax(logits[n,:]); losses[n] = −log probs[n,target[n]] (0 for an ignored row,
    /// whose probs are still written). All outputs are overwritten.
    /// The loss is computed as logsumexp − logit[target], which stays accurate where the target's
    /// probability underflows, rather than as −log(prob).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A target is ≥ V (checked before anything is written).</exception>
    public static void Forward<TNum>(Span<TNum> losses, Span<TNum> probs, ReadOnlySpan<TNum> logits, ReadOnlySpan<int> targets,
        int N, int V) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckTargets(targets, N, V);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<TNum> x = logits.Slice(n * V, V);
            Span<TNum> p = probs.Slice(n * V, V);
            int target = targets[n];
            // Read before probs (possibly the same memory) overwrites it.
            TNum targetLogit = target >= 0 ? x[target] : TNum.Zero;
            TNum max = TNum.NegativeInfinity;
            for (int i = 0; i < V; i++) max = TNum.Max(max, x[i]);
            TNum sum = TNum.Zero;
            for (int i = 0; i < V; i++)
            {
                TNum e = TNum.Exp(x[i] - max);
                p[i] = e;
                sum += e;
            }
            for (int i = 0; i < V; i++) p[i] /= sum;
            losses[n] = target >= 0 ? max + TNum.Log(sum) - targetLogit : TNum.Zero;
        }
    }

    /// <summary>
    /// dlogits[n,:] = (probs[n,:] − onehot(target[n]))·dloss; zero for an ignored row. OVERWRITES
    /// (the one backward that does not accumulate) so that it can run in place on probs.
    /// <paramref name="dloss"/> is the upstream gradient of every row's loss, e.g. 1/(valid rows)
    /// for a mean loss.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A target is ≥ V (checked before anything is written).</exception>
    public static void Backward<TNum>(Span<TNum> dlogits, ReadOnlySpan<TNum> probs, ReadOnlySpan<int> targets, TNum dloss,
        int N, int V) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckTargets(targets, N, V);
        for (int n = 0; n < N; n++)
        {
            int target = targets[n];
            for (int i = 0; i < V; i++)
            {
                TNum onehot = i == target ? TNum.One : TNum.Zero;
                dlogits[n * V + i] = target >= 0 ? (probs[n * V + i] - onehot) * dloss : TNum.Zero;
            }
        }
    }

    private static void CheckTargets(ReadOnlySpan<int> targets, int N, int V)
    {
        for (int n = 0; n < N; n++)
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(targets[n], V, nameof(targets));
    }
}
