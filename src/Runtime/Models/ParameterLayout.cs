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
/// <para>
/// A tensor may end in pad rows (the output head's padded vocabulary, see <see cref="VocabularyPadding"/>):
/// they are in the arena so that a GEMM's leading dimension is a round number, they are zero, they
/// never train (<see cref="Trainable"/> leaves them out) and files do not hold them
/// (<see cref="Entry.StoredShape"/>).
/// </para>
/// </summary>
public sealed class ParameterLayout
{
    /// <summary>One named tensor of the arena.</summary>
    /// <param name="Name">The architecture's short name (e.g. "qkvw").</param>
    /// <param name="Offset">First float in the arena.</param>
    /// <param name="Shape">Dimensions; a <see cref="LayoutPart.Block"/> tensor starts with L.</param>
    /// <param name="Decay">Whether AdamW's weight decay applies (matrices yes; biases and norm gains no).</param>
    /// <param name="Part">Before, in or after the blocks.</param>
    /// <param name="PadRows">Trailing rows of <paramref name="Shape"/>[0] that are padding (zero, never trained, never in a file).</param>
    public sealed record Entry(string Name, long Offset, int[] Shape, bool Decay, LayoutPart Part = LayoutPart.Block, int PadRows = 0)
    {
        /// <summary>Number of floats in the arena, pad rows included.</summary>
        public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));

        /// <summary>Number of floats a file holds: the first ones of the tensor, before its pad rows.</summary>
        public long Stored => PadRows == 0 ? Count : Count / Shape[0] * (Shape[0] - PadRows);

        /// <summary>The shape without the pad rows, as files hold the tensor.</summary>
        public int[] StoredShape => PadRows == 0 ? Shape : [Shape[0] - PadRows, .. Shape[1..]];
    }

    /// <summary>An entry before it has an offset: name, shape (pad rows included), decay, part, pad rows.</summary>
    public readonly record struct Spec(string Name, int[] Shape, bool Decay, LayoutPart Part, int PadRows = 0);

    private readonly Dictionary<string, Entry> _byName;

    /// <summary>Entries in arena order.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Total floats in the arena (pad rows included).</summary>
    public long Total { get; }

    /// <summary>The model's parameters: <see cref="Total"/> less the pad rows, what files hold.</summary>
    public long Parameters { get; }

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
        long offset = 0, parameters = 0;
        foreach (var s in specs)
        {
            if (s.Part == LayoutPart.Block && (s.Shape.Length == 0 || s.Shape[0] != layers))
                throw new ArgumentException($"block tensor '{s.Name}' must lead with the {layers} layers, not [{string.Join(", ", s.Shape)}]");
            if (s.PadRows != 0 && (s.Part == LayoutPart.Block || s.PadRows < 0 || s.PadRows >= s.Shape[0]))
                throw new ArgumentException($"tensor '{s.Name}' [{string.Join(", ", s.Shape)}] cannot end in {s.PadRows} pad rows (only a tensor outside the blocks pads, and keeps a row)");
            var e = new Entry(s.Name, offset, s.Shape, s.Decay, s.Part, s.PadRows);
            entries.Add(e);
            offset = checked(offset + e.Count);
            parameters += e.Stored;
        }
        Entries = entries;
        Total = offset;
        Parameters = parameters;
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
    /// Pad rows never train: they stay zero without relying on a zero gradient.
    /// </summary>
    public (long Offset, long Count) Trainable(Entry e, int? lastBlocks)
    {
        if (lastBlocks is not int n) return (e.Offset, e.Stored);
        if (n < 1 || n > Layers) throw new ArgumentOutOfRangeException(nameof(lastBlocks), $"the model has {Layers} blocks; cannot train the last {n}");
        return e.Part switch
        {
            LayoutPart.Embedding => (e.Offset, 0),
            LayoutPart.Head => (e.Offset, e.Stored),
            _ => (LayerRange(e, Layers - n).Offset, e.Count / Layers * n),
        };
    }
}
