using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.IO;

/// <summary>
/// Maps between a <see cref="Llama"/>'s arena and Hugging Face's tensors as save_pretrained
/// writes them (<c>model.embed_tokens.weight</c>, <c>model.layers.{i}.self_attn.q_proj.weight</c>
/// ...). Linear weights are [out, in] on both sides, so nothing is transposed.
/// </summary>
public static class LlamaHuggingFace
{
    /// <summary>One HF tensor: name, shape, the arena tensor and layer (−1: not per block) it fills.</summary>
    public sealed record Mapping(string Name, int[] Shape, string ArenaTensor, int Layer);

    /// <summary>Every HF tensor of a model of this config, in arena order.</summary>
    public static IReadOnlyList<Mapping> Mappings(LlamaConfig c)
    {
        var layout = new ParameterLayout(c.NumHiddenLayers, Llama.LayoutSpecs(c));
        var hf = new Dictionary<string, string>
        {
            ["ln1w"] = "input_layernorm.weight", ["qw"] = "self_attn.q_proj.weight", ["qb"] = "self_attn.q_proj.bias",
            ["kw"] = "self_attn.k_proj.weight", ["kb"] = "self_attn.k_proj.bias", ["vw"] = "self_attn.v_proj.weight", ["vb"] = "self_attn.v_proj.bias",
            ["qnormw"] = "self_attn.q_norm.weight", ["knormw"] = "self_attn.k_norm.weight", ["ow"] = "self_attn.o_proj.weight", ["ob"] = "self_attn.o_proj.bias",
            ["ln2w"] = "post_attention_layernorm.weight", ["gatew"] = "mlp.gate_proj.weight", ["upw"] = "mlp.up_proj.weight", ["downw"] = "mlp.down_proj.weight",
        };
        var list = new List<Mapping>();
        foreach (var e in layout.Entries)
            switch (e.Name)
            {
                // A padded head's file tensor is its V real rows (the arena's first ones).
                case "embed": list.Add(new("model.embed_tokens.weight", e.StoredShape, e.Name, -1)); break;
                case "normw": list.Add(new("model.norm.weight", e.Shape, e.Name, -1)); break;
                case "lmhead": list.Add(new("lm_head.weight", e.StoredShape, e.Name, -1)); break;
                default:
                    for (int l = 0; l < c.NumHiddenLayers; l++) list.Add(new($"model.layers.{l}.{hf[e.Name]}", e.Shape[1..], e.Name, l));
                    break;
            }
        return list.OrderBy(m => m.Layer).ThenBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>config.json's keys as the architecture's Hugging Face config class writes them.</summary>
    public static JsonObject ConfigJson(LlamaConfig c)
    {
        var node = JsonSerializer.SerializeToNode(c, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull })!.AsObject();
        node["head_dim"] = c.HeadDim;
        node["num_key_value_heads"] = c.KvHeads;
        node["rope_scaling"] ??= null;
        node["torch_dtype"] = "float32";
        return node;
    }

    /// <summary>
    /// Reads the weights, one tensor at a time, into the sink at their arena offsets. A tied config
    /// with an lm_head.weight that differs from the embedding is refused (it would be dropped);
    /// tensors whose shapes disagree with config.json are named with both shapes. With
    /// <paramref name="bf16"/>, each matmul weight (<see cref="Llama.MatmulWeights"/>) stored as BF16
    /// goes there as its bits, sized to the view the model multiplies by, and not to the sink; with
    /// <paramref name="q8"/>, each matmul weight (any dtype) goes there as floats to be quantised.
    /// </summary>
    public static void ReadWeights(WeightFiles st, LlamaConfig config, WeightSink sink, Bf16WeightSink? bf16 = null, Q8WeightSink? q8 = null)
    {
        // Checkpoint.OpenWeights has checked that the tensors can hold the parameters config.json implies.
        var layout = new ParameterLayout(config.NumHiddenLayers, Llama.LayoutSpecs(config));
        foreach (var m in Mappings(config))
        {
            if (!st.Contains(m.Name)) throw new InvalidDataException($"{st.Path}: tensor '{m.Name}' is missing (config.json's model_type {config.ModelType} needs it)");
            var info = st.Info(m.Name);
            if (!info.Shape.SequenceEqual(m.Shape))
                throw new InvalidDataException($"{st.FileOf(m.Name).Path}: tensor '{m.Name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", m.Shape)}]");
            var e = layout[m.ArenaTensor];
            var (offset, count) = m.Layer < 0 ? (e.Offset, e.Count) : layout.LayerRange(e, m.Layer);
            if (bf16 is not null && info.DType == "BF16" && Llama.MatmulWeights.Contains(m.ArenaTensor))
            {
                // The untied head's pad rows stay zero bits, +0, as packing its zero floats would give.
                st.ReadBf16Finite(m.Name, bf16(offset, count, info.Count)[..checked((int)info.Count)]);
                continue;
            }
            if (q8 is not null && Llama.MatmulWeights.Contains(m.ArenaTensor))
            {
                // HF's linear weights are [out, in]: rows of `in`, as the arena's.
                q8(offset, count, info.Count, m.Shape[1], destination => st.ReadFinite(m.Name, destination));
                continue;
            }
            sink(offset, info.Count, destination => st.ReadFinite(m.Name, destination));
        }
        if (config.TieWordEmbeddings && st.Contains("lm_head.weight"))
        {
            var head = st.ReadFinite("lm_head.weight");
            var embed = st.ReadFinite("model.embed_tokens.weight");
            if (!embed.AsSpan().SequenceEqual(head))
                throw new InvalidDataException($"{st.FileOf("lm_head.weight").Path}: lm_head.weight differs from model.embed_tokens.weight, but config.json says tie_word_embeddings");
        }
    }

    /// <summary>Every HF tensor with its arena offset (HF's layout is the arena's: nothing is transposed).</summary>
    public static IReadOnlyList<WeightTensor> WeightTensors(LlamaConfig config)
    {
        var layout = new ParameterLayout(config.NumHiddenLayers, Llama.LayoutSpecs(config));
        return Mappings(config).Select(m =>
        {
            var e = layout[m.ArenaTensor];
            return new WeightTensor(m.Name, m.Shape, m.Layer < 0 ? e.Offset : layout.LayerRange(e, m.Layer).Offset);
        }).ToList();
    }
}
