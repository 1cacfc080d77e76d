using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Softmax over the vocabulary fused with the cross-entropy loss: GPT-2's last op. The readable truth.
/// <para>
/// Layouts: logits/probs/dlogits[N,Vp] row-major with Vp ≥ V, N = B·T rows; targets[N] are ids in
/// [0, V) or negative for a row to ignore (padding); losses[N]. probs may be the same memory as
/// logits and dlogits the same memory as probs, so at V = 50257 one [N,Vp] buffer serves all three.
/// </para>
/// <para>
/// Vp is the padded vocabulary of the model's arena (llm.c's Vp): the head's GEMM writes rows of Vp
/// so that its leading dimension is a multiple of the vector width. Only the first V columns are
/// the vocabulary; the softmax never reads the others and writes them as zeros (probabilities and
/// gradients), so the pad rows of the head get no gradient.
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
    /// <exception cref="ArgumentOutOfRangeException">A target is ≥ V, or Vp &lt; V (checked before anything is written).</exception>
    public static void Forward<TNum>(Span<TNum> losses, Span<TNum> probs, ReadOnlySpan<TNum> logits, ReadOnlySpan<int> targets,
        int N, int V, int Vp) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckTargets(targets, N, V, Vp);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<TNum> x = logits.Slice(n * Vp, V);
            Span<TNum> p = probs.Slice(n * Vp, V);
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
            probs.Slice(n * Vp + V, Vp - V).Clear();
            losses[n] = target >= 0 ? max + TNum.Log(sum) - targetLogit : TNum.Zero;
        }
    }

    /// <summary>The unpadded case, Vp = V.</summary>
    public static void Forward<TNum>(Span<TNum> losses, Span<TNum> probs, ReadOnlySpan<TNum> logits, ReadOnlySpan<int> targets,
        int N, int V) where TNum : unmanaged, IFloatingPointIeee754<TNum>
        => Forward(losses, probs, logits, targets, N, V, V);

    /// <summary>
    /// dlogits[n,:] = (probs[n,:] − onehot(target[n]))·dloss; zero for an ignored row. OVERWRITES
    /// (the one backward that does not accumulate) so that it can run in place on probs.
    /// <paramref name="dloss"/> is the upstream gradient of every row's loss, e.g. 1/(valid rows)
    /// for a mean loss.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A target is ≥ V, or Vp &lt; V (checked before anything is written).</exception>
    public static void Backward<TNum>(Span<TNum> dlogits, ReadOnlySpan<TNum> probs, ReadOnlySpan<int> targets, TNum dloss,
        int N, int V, int Vp) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckTargets(targets, N, V, Vp);
        for (int n = 0; n < N; n++)
        {
            int target = targets[n];
            for (int i = 0; i < Vp; i++)
            {
                TNum onehot = i == target ? TNum.One : TNum.Zero;
                dlogits[n * Vp + i] = target >= 0 && i < V ? (probs[n * Vp + i] - onehot) * dloss : TNum.Zero;
            }
        }
    }

    /// <summary>The unpadded case, Vp = V.</summary>
    public static void Backward<TNum>(Span<TNum> dlogits, ReadOnlySpan<TNum> probs, ReadOnlySpan<int> targets, TNum dloss,
        int N, int V) where TNum : unmanaged, IFloatingPointIeee754<TNum>
        => Backward(dlogits, probs, targets, dloss, N, V, V);

    private static void CheckTargets(ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Vp, V, nameof(Vp));
        for (int n = 0; n < N; n++)
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(targets[n], V, nameof(targets));
    }
}
