namespace Hyper.Runtime.Backends;

/// <summary>
/// The ops whose <see cref="IBackend"/> method has a default body: the reference kernel run on a
/// host copy of the views (<see cref="HostCopy"/>). Any backend runs them, natively or not; a
/// test checks this list against the interface's default methods.
/// </summary>
public static class ReferenceFallback
{
    /// <summary>Ops that run on every backend, through the reference where the backend has no kernel.</summary>
    public static IReadOnlySet<Op> Ops { get; } = new HashSet<Op>
    {
        Op.LeakyRelu, Op.HyperEncoding,
        Op.RmsNorm, Op.Rope, Op.SwiGlu, Op.GroupedQueryAttention, Op.GroupedQueryAttentionKv,
    };

    /// <summary>Native where <see cref="IBackend.Supports"/> says so, else the reference fallback where the op has one, else none.</summary>
    public static OpSupport SupportOf(this IBackend backend, Op op) =>
        backend.Supports(op) ? OpSupport.Native : Ops.Contains(op) ? OpSupport.Reference : OpSupport.None;
}
