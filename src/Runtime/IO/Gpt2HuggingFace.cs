using System.Text.Json.Nodes;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.IO;

/// <summary>
/// Maps between our parameter arena and Hugging Face's GPT-2 tensors (names and layouts of
/// GPT2Model's state dict). HF's attention and MLP weights are Conv1D, stored [in, out]: the
/// transpose of our Linear-style [OC, C], so they are transposed on the way in and out.
/// </summary>
public static class Gpt2HuggingFace
{
    /// <summary>One HF tensor: its name, its HF shape, and where it sits in our arena.</summary>
    public sealed record Mapping(string Name, int[] Shape, string ArenaTensor, int Layer, bool Transposed);

    /// <summary>Every HF tensor of a GPT-2 with this config, in a stable order.</summary>
    public static IReadOnlyList<Mapping> Mappings(Gpt2Config c)
    {
        int C = c.NEmbd;
        var list = new List<Mapping>
        {
            new("wte.weight", [c.VocabSize, C], "wte", -1, false),
            new("wpe.weight", [c.NPositions, C], "wpe", -1, false),
        };
        for (int l = 0; l < c.NLayer; l++)
        {
            string h = $"h.{l}.";
            list.Add(new(h + "ln_1.weight", [C], "ln1w", l, false));
            list.Add(new(h + "ln_1.bias", [C], "ln1b", l, false));
            list.Add(new(h + "attn.c_attn.weight", [C, 3 * C], "qkvw", l, true));
            list.Add(new(h + "attn.c_attn.bias", [3 * C], "qkvb", l, false));
            list.Add(new(h + "attn.c_proj.weight", [C, C], "attprojw", l, true));
            list.Add(new(h + "attn.c_proj.bias", [C], "attprojb", l, false));
            list.Add(new(h + "ln_2.weight", [C], "ln2w", l, false));
            list.Add(new(h + "ln_2.bias", [C], "ln2b", l, false));
            list.Add(new(h + "mlp.c_fc.weight", [C, 4 * C], "fcw", l, true));
            list.Add(new(h + "mlp.c_fc.bias", [4 * C], "fcb", l, false));
            list.Add(new(h + "mlp.c_proj.weight", [4 * C, C], "fcprojw", l, true));
            list.Add(new(h + "mlp.c_proj.bias", [C], "fcprojb", l, false));
        }
        list.Add(new("ln_f.weight", [C], "lnfw", -1, false));
        list.Add(new("ln_f.bias", [C], "lnfb", -1, false));
        return list;
    }

    /// <summary>config.json's keys as Hugging Face's GPT2Config writes them (architectures and model_type are added by the caller).</summary>
    public static JsonObject ConfigJson(Gpt2Config c) => new()
    {
        ["activation_function"] = "gelu_new",
        ["n_embd"] = c.NEmbd,
        ["n_layer"] = c.NLayer,
        ["n_head"] = c.NHead,
        ["n_positions"] = c.NPositions,
        ["n_ctx"] = c.NPositions,
        ["vocab_size"] = c.VocabSize,
        ["layer_norm_epsilon"] = c.LayerNormEpsilon,
        ["tie_word_embeddings"] = true,
        ["resid_pdrop"] = 0.0,
        ["embd_pdrop"] = 0.0,
        ["attn_pdrop"] = 0.0,
    };

    /// <summary>
    /// Reads an open model.safetensors into an arena, accepting HF's variants: a "transformer."
    /// prefix, F16/BF16 tensors, attention-mask buffers (ignored) and an lm_head.weight that
    /// equals wte (our GPT-2 ties them; a different one is refused rather than dropped).
    /// </summary>
    public static float[] ReadWeights(WeightFiles st, Gpt2Config config)
    {
        // Checkpoint.OpenWeights has already held config.json's size against the tensors' bytes.
        string path = st.Path;
        string prefix = st.Contains("wte.weight") || !st.Contains("transformer.wte.weight") ? "" : "transformer.";
        var expected = Mappings(config).ToDictionary(m => m.Name);
        foreach (var info in st.Tensors)
        {
            string name = info.Name.StartsWith(prefix, StringComparison.Ordinal) ? info.Name[prefix.Length..] : info.Name;
            if (expected.TryGetValue(name, out var m) && !info.Shape.SequenceEqual(m.Shape))
                throw new InvalidDataException($"{path}: tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", m.Shape)}]");
        }
        var arena = ToArena(config, n => st.Contains(prefix + n) ? st.ReadFinite(prefix + n) : null, path);
        if (st.Contains("lm_head.weight"))
        {
            var head = st.ReadFinite("lm_head.weight");
            var wte = arena.AsSpan(0, config.VocabSize * config.NEmbd);
            if (head.Length != wte.Length || !wte.SequenceEqual(head))
                throw new InvalidDataException($"{path}: lm_head.weight differs from wte.weight; Hyper's GPT-2 ties the output projection to the token embedding");
        }
        return arena;
    }

    /// <summary>
    /// Builds an arena from HF tensors fetched by name (<paramref name="read"/> returns the
    /// row-major floats of the HF tensor, or null when it is missing).
    /// </summary>
    public static float[] ToArena(Gpt2Config config, Func<string, float[]?> read, string source)
    {
        var layout = new ParameterLayout(config);
        var arena = new float[layout.Total];
        foreach (var m in Mappings(config))
        {
            float[] data = read(m.Name) ?? throw new InvalidDataException($"{source}: tensor '{m.Name}' is missing");
            long count = m.Shape.Aggregate(1L, (a, d) => a * d);
            if (data.Length != count)
                throw new InvalidDataException($"{source}: tensor '{m.Name}' has {data.Length} values, expected [{string.Join(", ", m.Shape)}]");
            var dst = Slot(layout, m, arena);
            if (m.Transposed) Transpose(data, dst, m.Shape[0], m.Shape[1]);
            else data.CopyTo(dst);
        }
        return arena;
    }

    /// <summary>Splits an arena into HF tensors (name, HF shape, floats).</summary>
    public static IEnumerable<(string Name, int[] Shape, float[] Data)> FromArena(Gpt2Config config, float[] arena)
    {
        var layout = new ParameterLayout(config);
        foreach (var m in Mappings(config))
        {
            var src = Slot(layout, m, arena);
            var data = new float[src.Length];
            // Our [OC, C] is HF's [C, OC] transposed: transposing [OC, C] gives it back.
            if (m.Transposed) Transpose(src, data, m.Shape[1], m.Shape[0]);
            else src.CopyTo(data);
            yield return (m.Name, m.Shape, data);
        }
    }

    /// <summary>Every HF tensor with its arena offset; Conv1D weights are stored as the transpose of the arena's [OC, C].</summary>
    public static IReadOnlyList<WeightTensor> WeightTensors(Gpt2Config config)
    {
        var layout = new ParameterLayout(config);
        return Mappings(config).Select(m =>
        {
            long count = m.Shape.Aggregate(1L, (a, d) => a * d);
            return new WeightTensor(m.Name, m.Shape, layout[m.ArenaTensor].Offset + (m.Layer < 0 ? 0 : count * m.Layer), m.Transposed);
        }).ToList();
    }

    private static Span<float> Slot(ParameterLayout layout, Mapping m, float[] arena)
    {
        var e = layout[m.ArenaTensor];
        long count = m.Shape.Aggregate(1L, (a, d) => a * d);
        long offset = e.Offset + (m.Layer < 0 ? 0 : count * m.Layer);
        return arena.AsSpan((int)offset, (int)count);
    }

    /// <summary>dst[c, r] = src[r, c] for a rows × cols source.</summary>
    internal static void Transpose(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                dst[c * rows + r] = src[r * cols + c];
    }
}
