namespace Hyper.Kernels;

/// <summary>
/// How a matmul's weight matrix [OC,C] is stored for inference. Activations, norms, softmax and
/// the KV cache stay fp32 in every format; only the weights shrink, which is what batch-1 decoding
/// is bound by (it reads every weight once per token). See docs/low-precision.md.
/// </summary>
public enum WeightFormat
{
    /// <summary>4 bytes a weight: the parameters as they are.</summary>
    F32,
    /// <summary>2 bytes a weight: the upper half of the fp32 bits, rounded to nearest even (<see cref="Reference.MatmulBf16"/>).</summary>
    Bf16,
    /// <summary>1.125 bytes a weight: int8 with one fp32 scale per 32 weights along C (<see cref="Reference.MatmulQ8"/>).</summary>
    Q8,
}
