namespace Hyper.Runtime.Models;

/// <summary>Where a tensor sits in the network, which decides what `--train-layers last:N` trains.</summary>
public enum LayoutPart
{
    /// <summary>Before the blocks (token and position embeddings): frozen when only the last blocks train.</summary>
    Embedding,

    /// <summary>One slice per block, stacked on the leading axis [L, ...]: the last N slices train.</summary>
    Block,

    /// <summary>After the blocks (final norm, an untied output head): trains whenever any block does.</summary>
    Head,
}

/// <summary>
/// Where each parameter tensor of a model lives in its one parameter arena (the gradient arena and
/// the AdamW moments have the same layout). Per-block tensors are stacked with a leading L, as
/// llm.c lays them out, so one kernel call covers a tensor of every layer and the last N blocks of a
/// tensor are its tail. Matmul weights are [OC, C] (PyTorch Linear). Each architecture supplies its
/// list of entries; the trainers and the optimizer only read this.
/// </summary>
public sealed class ParameterLayout
{
    /// <summary>One named tensor of the arena.</summary>
    /// <param name="Name">The architecture's short name (e.g. "qkvw").</param>
    /// <param name="Offset">First float in the arena.</param>
    /// <param name="Shape">Dimensions; a <see cref="LayoutPart.Block"/> tensor starts with L.</param>
    /// <param name="Decay">Whether AdamW's weight decay applies (matrices yes; biases and norm gains no).</param>
    /// <param name="Part">Before, in or after the blocks.</param>
    public sealed record Entry(string Name, long Offset, int[] Shape, bool Decay, LayoutPart Part = LayoutPart.Block)
    {
        /// <summary>Number of floats.</summary>
        public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));
    }

    /// <summary>An entry before it has an offset: name, shape, decay, part.</summary>
    public readonly record struct Spec(string Name, int[] Shape, bool Decay, LayoutPart Part);

    private readonly Dictionary<string, Entry> _byName;

    /// <summary>Entries in arena order.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Total floats in the arena.</summary>
    public long Total { get; }

    /// <summary>Transformer blocks (the leading dimension of every <see cref="LayoutPart.Block"/> entry).</summary>
    public int Layers { get; }

    /// <summary>Entries by name.</summary>
    public Entry this[string name] => _byName.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"the layout has no tensor '{name}'");

    /// <summary>The entry of that name, or null when the layout has none (an architecture's optional tensors, e.g. biases).</summary>
    public Entry? TryGet(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Lays out <paramref name="specs"/> in order, one after the other.</summary>
    /// <exception cref="OverflowException">The element count does not fit 64 bits (configs are validated first; see <see cref="Gpt2Config.Validate"/>).</exception>
    public ParameterLayout(int layers, IEnumerable<Spec> specs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        var entries = new List<Entry>();
        long offset = 0;
        foreach (var s in specs)
        {
            if (s.Part == LayoutPart.Block && (s.Shape.Length == 0 || s.Shape[0] != layers))
                throw new ArgumentException($"block tensor '{s.Name}' must lead with the {layers} layers, not [{string.Join(", ", s.Shape)}]");
            var e = new Entry(s.Name, offset, s.Shape, s.Decay, s.Part);
            entries.Add(e);
            offset = checked(offset + e.Count);
        }
        Entries = entries;
        Total = offset;
        Layers = layers;
        _byName = entries.ToDictionary(e => e.Name);
    }

    /// <summary>GPT-2's layout (see <see cref="Gpt2.LayoutSpecs"/>).</summary>
    public ParameterLayout(Gpt2Config c) : this(c.NLayer, Gpt2.LayoutSpecs(c)) { }

    /// <summary>Layer <paramref name="l"/>'s slice of a block tensor, as an arena range.</summary>
    public (long Offset, long Count) LayerRange(Entry e, int l)
    {
        if (e.Part != LayoutPart.Block) throw new ArgumentException($"'{e.Name}' is not a per-block tensor");
        long per = e.Count / Layers;
        return (e.Offset + per * l, per);
    }

    /// <summary>
    /// The part of <paramref name="e"/> that trains when only the last <paramref name="lastBlocks"/>
    /// blocks do (null: everything), as an arena range; count 0 means frozen. Embeddings stay
    /// frozen (a tied embedding is also the output head: training it would change the input end
    /// of the network too), block tensors train their last N slices, what follows the blocks trains.
    /// </summary>
    public (long Offset, long Count) Trainable(Entry e, int? lastBlocks)
    {
        if (lastBlocks is not int n) return (e.Offset, e.Count);
        if (n < 1 || n > Layers) throw new ArgumentOutOfRangeException(nameof(lastBlocks), $"the model has {Layers} blocks; cannot train the last {n}");
        return e.Part switch
        {
            LayoutPart.Embedding => (e.Offset, 0),
            LayoutPart.Head => (e.Offset, e.Count),
            _ => (LayerRange(e, Layers - n).Offset, e.Count / Layers * n),
        };
    }
}
