using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Softmax fused with cross-entropy as ILGPU kernels. Layouts and semantics as
/// <see cref="Reference.SoftmaxCrossEntropy"/>: rows of Vp ≥ V floats whose first V are the
/// vocabulary and the rest padding written as zeros (probs may alias logits, dlogits may alias
/// probs); targets are on the device and already checked to be below V.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// probs[n,:] = softmax(logits[n,:]); losses[n] = logsumexp − logit[target] (0 when the target
    /// is negative). Grid: N groups; group: a power of two; the row's max and sum are group reductions.
    /// </summary>
    public static void Forward(ArrayView<float> losses, ArrayView<float> probs, ArrayView<float> logits, ArrayView<int> targets, int V, int Vp)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int n = Grid.IdxX, row = n * Vp, tid = Group.IdxX, step = Group.DimX;
        int target = targets[n];
        // Read before any thread writes probs (possibly the same memory); the barriers inside the
        // max reduction below order this read before every write.
        float targetLogit = target >= 0 ? logits[row + target] : 0f;
        float max = float.NegativeInfinity;
        for (int i = tid; i < V; i += step) max = MathF.Max(max, logits[row + i]);
        max = GroupReduce.Max(scratch, max);
        float sum = 0;
        for (int i = tid; i < V; i += step)
        {
            float e = MathF.Exp(logits[row + i] - max);
            probs[row + i] = e;
            sum += e;
        }
        sum = GroupReduce.Sum(scratch, sum);
        for (int i = tid; i < V; i += step) probs[row + i] /= sum;
        for (int i = V + tid; i < Vp; i += step) probs[row + i] = 0f;
        if (Group.IsFirstThread) losses[n] = target >= 0 ? max + MathF.Log(sum) - targetLogit : 0f;
    }

    /// <summary>dlogits[n,i] = (probs[n,i] − [i = target])·dloss for i &lt; V, 0 for padding and an ignored row (overwrites); a grid-stride loop over N·Vp.</summary>
    public static void Backward(ArrayView<float> dlogits, ArrayView<float> probs, ArrayView<int> targets, float dloss, int V, int Vp)
    {
        for (int index = Grid.GlobalIndex.X; index < dlogits.IntLength; index += GridStride.Step)
        {
            int target = targets[index / Vp], i = index % Vp;
            float onehot = i == target ? 1f : 0f;
            dlogits[index] = target >= 0 && i < V ? (probs[index] - onehot) * dloss : 0f;
        }
    }
}
