namespace Hyper.Runtime.Backends;

/// <summary>
/// The op vocabulary. Every backend implements ops under these names (forward and backward as
/// a pair), and says which it runs with a native kernel through <see cref="IBackend.Supports"/>.
/// An op in <see cref="ReferenceFallback.Ops"/> still runs on a backend without a native kernel
/// (the reference on a host copy); HyperAttention runs only where the backend has it.
/// </summary>
public enum Op
{
    /// <summary>Token + position embedding.</summary>
    Encoder,
    /// <summary>Layer normalisation over the channel dimension.</summary>
    LayerNorm,
    /// <summary>out = inp · weightᵀ + bias.</summary>
    Matmul,
    /// <summary>Exact multi-head attention, flash-style (online softmax, log-sum-exp kept).</summary>
    Attention,
    /// <summary>Attention of new tokens over a key/value cache that it also appends to (decoding; forward only).</summary>
    AttentionKv,
    /// <summary>GELU, tanh approximation.</summary>
    Gelu,
    /// <summary>Elementwise sum of two tensors.</summary>
    Residual,
    /// <summary>Softmax and cross-entropy fused.</summary>
    SoftmaxCrossEntropy,
    /// <summary>AdamW update with decoupled weight decay.</summary>
    AdamW,
    /// <summary>Leaky ReLU (the hypernetwork's activation).</summary>
    LeakyRelu,
    /// <summary>The hypernetwork's input encoding of gamma (cos|sin, z|1−z or raw).</summary>
    HyperEncoding,
    /// <summary>RMS normalisation over the channel dimension (Llama's norm).</summary>
    RmsNorm,
    /// <summary>Rotary position embedding, rotate-half form.</summary>
    Rope,
    /// <summary>silu(gate)·up, the gated unit of the Llama MLP.</summary>
    SwiGlu,
    /// <summary>Exact causal attention whose key/value heads are shared by groups of query heads.</summary>
    GroupedQueryAttention,
    /// <summary>Grouped-query attention over a cache of the key/value heads (decoding; forward only).</summary>
    GroupedQueryAttentionKv,
    /// <summary>LSH HyperAttention (sorted blocks plus sampled keys) under a fixed plan (<see cref="IHyperAttentionBackend"/>).</summary>
    HyperAttention,
    /// <summary>HyperAttention's decode rule over a key/value cache (decoding; forward only; <see cref="IHyperAttentionBackend"/>).</summary>
    HyperAttentionKv,
}
