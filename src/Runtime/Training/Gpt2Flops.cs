using Hyper.Runtime.Models;

namespace Hyper.Runtime.Training;

/// <summary>
/// Model FLOPs of a training step, counted the way PaLM's appendix B does, so our numbers and
/// the PyTorch script's are the same formula: per token 6·P_mm for the matmuls (2 forward, 4
/// backward per weight) plus 12·L·T·C for attention scores and values, forward and backward,
/// not halved for the causal mask. P_mm is every matmul weight: L·12·C² plus the tied V·C
/// output projection. Layernorms, GELU, softmax and the optimizer are not counted.
/// </summary>
public static class Gpt2Flops
{
    /// <summary>FLOPs of one forward + backward over B·T tokens.</summary>
    public static double PerStep(Gpt2Config c, int B, int T)
    {
        double C = c.NEmbd, L = c.NLayer, V = c.VocabSize;
        double pMatmul = L * 12 * C * C + V * C;
        return (double)B * T * (6 * pMatmul + 12 * L * T * C);
    }
}
