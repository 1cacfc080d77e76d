using Hyper.Runtime.Training;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// The two-corpus task: sample i carries its own γ_i, one window from corpus A and one from
/// corpus B, and its loss is γ_i·L_A(i) + (1 − γ_i)·L_B(i) under the weights θ(γ_i). One
/// trained hypernetwork is then a dial between the two corpora's styles.
/// <para>
/// Samples are grouped by distinct γ (in order of first appearance); each group is one
/// <see cref="HyperNetwork.Accumulate"/>: θ(γ) is generated once, the group's A windows and B
/// windows run as two target batches, and the hypernetwork's gradients accumulate across groups.
/// With γ drawn per sample every group has one sample, so a step costs B hypernetwork passes
/// and 2B target passes of one window each (a side with weight 0 is skipped).
/// </para>
/// </summary>
public sealed class MixtureObjective(Gpt2Target target, int T)
{
    /// <summary>The target the hypernetwork generates.</summary>
    public Gpt2Target Target { get; } = target;

    /// <summary>Window length.</summary>
    public int T { get; } = T;

    /// <summary>
    /// Accumulates Σ_i w·∂loss_i/∂φ into the hypernetwork's gradients (not zeroed here) for the
    /// samples whose γ are <paramref name="gammas"/> and whose windows are row i of the A and B
    /// arrays ([B,T] each); w is <paramref name="sampleWeight"/> (1/B for a mean). Returns Σ_i w·loss_i.
    /// </summary>
    public double Accumulate(HyperNetwork hyper, ReadOnlySpan<float> gammas, int[] inputsA, int[] targetsA, int[] inputsB, int[] targetsB, float sampleWeight)
    {
        int B = gammas.Length;
        if (inputsA.Length != B * T || targetsA.Length != B * T || inputsB.Length != B * T || targetsB.Length != B * T)
            throw new ArgumentException($"mixture batch of {B} samples needs {B * T} tokens per array (T={T})");
        var groups = new List<(float Gamma, List<int> Rows)>();
        for (int i = 0; i < B; i++)
        {
            float g = gammas[i];
            if (!(g >= 0f && g <= 1f)) throw new ArgumentOutOfRangeException(nameof(gammas), $"gamma {g} is outside [0, 1]");
            int k = groups.FindIndex(x => x.Gamma == g);
            if (k < 0) groups.Add((g, [i]));
            else groups[k].Rows.Add(i);
        }
        double total = 0;
        foreach (var (gamma, rows) in groups)
        {
            float wa = sampleWeight * gamma * rows.Count, wb = sampleWeight * (1f - gamma) * rows.Count;
            hyper.Accumulate([gamma], () =>
            {
                float la = wa == 0 ? 0f : Target.ForwardBackward(Rows(inputsA, targetsA, rows), wa);
                float lb = wb == 0 ? 0f : Target.ForwardBackward(Rows(inputsB, targetsB, rows), wb);
                total += (double)wa * la + (double)wb * lb;
                return 0f;
            });
        }
        return total;
    }

    private TokenBatch Rows(int[] inputs, int[] targets, List<int> rows)
    {
        var x = new int[rows.Count * T];
        var y = new int[rows.Count * T];
        for (int r = 0; r < rows.Count; r++)
        {
            inputs.AsSpan(rows[r] * T, T).CopyTo(x.AsSpan(r * T));
            targets.AsSpan(rows[r] * T, T).CopyTo(y.AsSpan(r * T));
        }
        return new TokenBatch(x, y, rows.Count, T);
    }

    /// <summary>
    /// Held-out γ·L_A + (1 − γ)·L_B with θ(γ), each loss the mean over the first
    /// <paramref name="windows"/> windows of its corpus (as <see cref="Evaluator"/> counts them).
    /// </summary>
    public double Evaluate(HyperNetwork hyper, float gamma, int[] valA, int[] valB, int windows, int batch)
    {
        hyper.Generate([gamma]);
        double la = gamma == 0 ? 0 : Evaluator.Evaluate(Target.Model, valA, T, windows, batch).Loss;
        double lb = gamma == 1 ? 0 : Evaluator.Evaluate(Target.Model, valB, T, windows, batch).Loss;
        return gamma * la + (1 - gamma) * lb;
    }
}
