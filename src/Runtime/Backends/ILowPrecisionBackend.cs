using Hyper.Kernels;

namespace Hyper.Runtime.Backends;

/// <summary>
/// A backend that multiplies by weights stored in a <see cref="WeightFormat"/> other than fp32.
/// With <see cref="Weights"/> set, the backend's matmul forward keeps a packed copy of each weight
/// view the first time it multiplies by it and reads that copy from then on: both GPT-2's and the
/// Llama family's blocks (and their decoders) call the same matmul, so neither model knows the
/// format. The copy is made from the parameters as they are then and is not refreshed, so this is
/// for inference (eval, generate): a training step afterwards would not be seen. The backward stays
/// fp32 (training keeps fp32 master weights).
/// </summary>
public interface ILowPrecisionBackend
{
    /// <summary>The formats besides fp32 that this backend multiplies by, natively or through a <see cref="WeightFallback"/>.</summary>
    IReadOnlyList<WeightFormat> WeightFormats { get; }

    /// <summary>Whether <paramref name="format"/> has kernels of its own here (false: fp32 kernels on the weights rounded through it).</summary>
    bool IsNative(WeightFormat format);

    /// <summary>The format matmul weights are read in (fp32: the parameters as they are, no copies).</summary>
    WeightFormat Weights { get; set; }

    /// <summary>Bytes held by the packed copies made so far.</summary>
    long PackedBytes { get; }

    /// <summary>The fp32 floats those copies stand for (the weights a decode step reads in the format).</summary>
    long PackedFloats { get; }
}
