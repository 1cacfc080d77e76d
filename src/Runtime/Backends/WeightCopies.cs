using Hyper.Kernels;

namespace Hyper.Runtime.Backends;

/// <summary>
/// Copies of matmul weight views in a low-precision format, each made the first time its view is multiplied
/// by and kept until the format changes: <see cref="WeightFallback"/>'s are rounded through the format and
/// widened back to fp32, <see cref="DevicePackedWeights"/>' are packed in it.
/// </summary>
public abstract class WeightCopies<TCopy> : IDisposable
{
    /// <summary>The copy of each weight view made so far.</summary>
    protected Dictionary<TensorView, TCopy> Copies { get; } = new();

    private WeightFormat _format;

    /// <summary>The formats copies are made in.</summary>
    public static IReadOnlyList<WeightFormat> Formats { get; } = [WeightFormat.Bf16, WeightFormat.Q8];

    /// <summary>The format weights are read in (fp32: none; changing it drops the copies).</summary>
    public WeightFormat Format
    {
        get => _format;
        set
        {
            if (value != _format) Clear();
            _format = value;
        }
    }

    /// <summary>The fp32 floats the copies stand for.</summary>
    public long Floats => Copies.Keys.Sum(k => k.Length);

    /// <summary>Frees one copy's buffers.</summary>
    protected abstract void Free(TCopy copy);

    /// <summary>Frees every copy.</summary>
    protected virtual void Clear()
    {
        foreach (var copy in Copies.Values) Free(copy);
        Copies.Clear();
    }

    /// <summary>Frees the copies.</summary>
    public void Dispose()
    {
        Clear();
        GC.SuppressFinalize(this);
    }
}
