namespace Hyper.Kernels.Cpu;

/// <summary>How the flash backward splits work over threads (tests force each; the public API picks by shape).</summary>
internal enum AttentionBackwardScheme
{
    /// <summary>Fused when B·NH ≥ <see cref="AttentionFlash.FusedMinHeads"/>, else two-pass.</summary>
    Auto = 0,

    /// <summary>One thread per (b, h): dQ, dK, dV in one sweep over the tiles.</summary>
    Fused = 1,

    /// <summary>Parallel over key blocks for dK, dV, then over query blocks for dQ (S and dP computed twice).</summary>
    TwoPass = 2,
}
