namespace Hyper.Runtime.Generation;

/// <summary>Shared arithmetic of the filters and the sampler, in double precision over float logits.</summary>
internal static class LogitMath
{
    /// <summary>
    /// softmax(<paramref name="logits"/>) into <paramref name="probs"/>; a −∞ logit gets exactly 0.
    /// Returns the largest logit (−∞ when every token is masked, and then every probability is 0).
    /// </summary>
    public static float Softmax(ReadOnlySpan<float> logits, Span<double> probs)
    {
        float max = Max(logits);
        if (float.IsNegativeInfinity(max))
        {
            probs[..logits.Length].Clear();
            return max;
        }
        double z = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double e = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp((double)logits[i] - max);
            probs[i] = e;
            z += e;
        }
        for (int i = 0; i < logits.Length; i++) probs[i] /= z;
        return max;
    }

    /// <summary>The largest logit.</summary>
    public static float Max(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) if (l > max) max = l;
        return max;
    }

    /// <summary>The id of the largest logit, the lowest id among equals; −1 when every logit is −∞.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = -1;
        float max = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
            if (logits[i] > max) { max = logits[i]; best = i; }
        return best;
    }

    /// <summary>
    /// Writes the ids of the unmasked (not −∞) tokens into <paramref name="order"/>, sorted by logit
    /// descending and id ascending among equal logits, and returns how many there are. Sorting 64-bit keys
    /// (an order-preserving image of the float in the high half, the id in the low half) keeps the order
    /// total and deterministic without a comparison delegate.
    /// </summary>
    public static int SortByLogitDescending(ReadOnlySpan<float> logits, Span<int> order, ref ulong[] keys)
    {
        if (keys.Length < logits.Length) keys = new ulong[logits.Length];
        int n = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (float.IsNegativeInfinity(logits[i])) continue;
            uint bits = BitConverter.SingleToUInt32Bits(logits[i]);
            // Flip so that unsigned order is float order, then complement for descending.
            uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
            keys[n++] = ((ulong)~ascending << 32) | (uint)i;
        }
        var k = keys.AsSpan(0, n);
        k.Sort();
        for (int j = 0; j < n; j++) order[j] = (int)(uint)k[j];
        return n;
    }

    /// <summary>Sets every logit to −∞ except those whose ids are the first <paramref name="keep"/> of <paramref name="order"/>.</summary>
    public static void KeepOnly(Span<float> logits, ReadOnlySpan<int> order, int keep, int sorted)
    {
        for (int j = keep; j < sorted; j++) logits[order[j]] = float.NegativeInfinity;
    }
}
