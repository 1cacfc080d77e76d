namespace Hyper.Runtime.Models;

/// <summary>
/// Where each GPT-2 parameter tensor lives in the one parameter arena (llm.c's order and
/// layouts; the gradient arena has the same layout). Matmul weights are [OC, C] (PyTorch
/// Linear); Hugging Face's Conv1D files hold the transpose and are converted on load.
/// </summary>
public sealed class ParameterLayout
{
    /// <summary>One named tensor of the arena; per-layer tensors are stacked with a leading L.</summary>
    public sealed record Entry(string Name, long Offset, int[] Shape, bool Decay)
    {
        /// <summary>Number of floats.</summary>
        public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));
    }

    /// <summary>In arena order: wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b,
    /// fcw, fcb, fcprojw, fcprojb, lnfw, lnfb.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Total floats in the arena.</summary>
    public long Total { get; }

    /// <summary>Entries by name.</summary>
    public Entry this[string name] => Entries.First(e => e.Name == name);

    /// <summary>Builds the layout for a config.</summary>
    /// <exception cref="OverflowException">The config's parameter count does not fit 64 bits (see <see cref="Gpt2Config.Validate"/>).</exception>
    public ParameterLayout(Gpt2Config c)
    {
        int V = c.VocabSize, C = c.NEmbd, L = c.NLayer, maxT = c.NPositions;
        // Decay: weight decay applies to matrices (embeddings and matmul weights), not to
        // biases and layernorm gains, as in GPT-2/nanoGPT training recipes.
        (string, int[], bool)[] spec =
        [
            ("wte", [V, C], true),          // token embedding, tied with the output projection
            ("wpe", [maxT, C], true),       // position embedding
            ("ln1w", [L, C], false),
            ("ln1b", [L, C], false),
            ("qkvw", [L, checked(3 * C), C], true),  // q, k, v projections stacked on OC
            ("qkvb", [L, checked(3 * C)], false),
            ("attprojw", [L, C, C], true),
            ("attprojb", [L, C], false),
            ("ln2w", [L, C], false),
            ("ln2b", [L, C], false),
            ("fcw", [L, checked(4 * C), C], true),
            ("fcb", [L, checked(4 * C)], false),
            ("fcprojw", [L, C, checked(4 * C)], true),
            ("fcprojb", [L, C], false),
            ("lnfw", [C], false),
            ("lnfb", [C], false),
        ];
        var entries = new List<Entry>();
        long offset = 0;
        foreach (var (name, shape, decay) in spec)
        {
            var e = new Entry(name, offset, shape, decay);
            entries.Add(e);
            offset = checked(offset + e.Count);
        }
        Entries = entries;
        Total = offset;
    }
}
