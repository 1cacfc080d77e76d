using Hyper.Kernels.Reference;
using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// What a <see cref="LlamaDecoder"/> keeps for the layers that use HyperAttention: the decode
/// rule of <see cref="HyperAttentionKv"/> runs on multi-head caches, so each such layer has its
/// own key and value caches [B,maxT,Q] with every key/value head repeated for its NH/NKV query
/// heads (<see cref="GroupedHeads"/>), its <see cref="HyperAttentionKvState"/> (bucket-ordered
/// keys, hyperplanes, sample seed), and the new tokens' repeated qkv [B·Tq,3Q] as scratch.
/// Those layers' caches take NH/NKV times the memory of an exact layer's; exact layers are untouched.
/// </summary>
internal sealed class LlamaHyperDecoding : IDisposable
{
    private readonly LlamaConfig _c;
    private readonly IBackend _backend;
    private readonly HyperAttentionKvState?[] _states;  // per layer; null for exact layers
    private readonly int[] _slot;                       // per layer: its index among the HyperAttention layers
    private readonly DeviceBuffer _cache;               // [hyper layers][2][B,maxT,Q]
    private readonly long _cacheLen;
    private DeviceBuffer? _qkv;                         // [B·Tq,3Q], grown to the most rows fed
    private readonly int _batch, _maxT;

    /// <summary>The HyperAttention layers of <paramref name="model"/> (its settings at this moment) for a decoder of <paramref name="batch"/> rows over <paramref name="maxT"/> positions.</summary>
    public LlamaHyperDecoding(Llama model, HyperAttentionSettings hyper, int batch, int maxT)
    {
        _c = model.Config;
        _backend = model.Backend;
        if (!_backend.Supports(Op.HyperAttentionKv))
            throw new NotSupportedException($"the {_backend.Name} backend does not decode HyperAttention layers (the cpu and reference backends do)");
        (_batch, _maxT) = (batch, maxT);
        int L = _c.NumHiddenLayers, NH = _c.NumAttentionHeads, used = 0;
        _states = new HyperAttentionKvState?[L];
        _slot = new int[L];
        for (int l = 0; l < L; l++)
        {
            _slot[l] = -1;
            if (!hyper.Uses(l)) continue;
            _states[l] = hyper.KvState(l, batch, NH, maxT);
            _slot[l] = used++;
        }
        _cacheLen = (long)batch * maxT * NH * _c.HeadDim;
        _cache = _backend.Allocate(2 * used * _cacheLen);
        HugePages.Advise(_cache.All);
    }

    /// <summary>Whether layer <paramref name="layer"/> decodes under HyperAttention's rule.</summary>
    public bool Uses(int layer) => _states[layer] is not null;

    /// <summary>Forgets every cached key (the decoder's reset).</summary>
    public void Reset()
    {
        foreach (var s in _states) s?.Reset();
    }

    /// <summary>
    /// Layer <paramref name="layer"/>'s attention of the Tq new tokens per row (q [B·Tq,Q] and k [B·Tq,KV] already
    /// rotated to positions pos..pos+Tq−1, v [B·Tq,KV]): appends their repeated k and v to this layer's caches and writes out [B·Tq,Q].
    /// </summary>
    public void Attend(IBackend be, int layer, TensorView output, TensorView q, TensorView k, TensorView v, int Tq, int pos)
    {
        var state = _states[layer] ?? throw new InvalidOperationException($"layer {layer} uses exact attention");
        int NH = _c.NumAttentionHeads, hd = _c.HeadDim, N = _batch * Tq, Q = NH * hd;
        long n = 3L * N * Q;
        if (_qkv is null || _qkv.Length < n)
        {
            _qkv?.Dispose();
            _qkv = _backend.Allocate(n);
        }
        TensorView qkv = _qkv.Slice(0, n);
        GroupedHeads.Expand(be, qkv, q, k, v, N, NH, _c.KvHeads, hd);
        long at = 2L * _slot[layer] * _cacheLen;
        TensorView kCache = _cache.Slice(at, _cacheLen), vCache = _cache.Slice(at + _cacheLen, _cacheLen);
        ((IHyperAttentionBackend)be).HyperAttentionKvForward(output, kCache, vCache, qkv, state, _batch, Tq, pos, _maxT, Q, NH);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cache.Dispose();
        _qkv?.Dispose();
    }
}
