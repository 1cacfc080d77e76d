using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;

namespace Hyper.Tests.Support;

/// <summary>
/// Checkpoint folders whose model.safetensors holds BF16 tensors, as Hugging Face ships SmolLM and
/// TinyLlama: Hyper's own writer writes F32 only, so the F32 file of a save is rewritten here.
/// </summary>
internal static class Bf16Folder
{
    /// <summary>
    /// A random Llama folder of <paramref name="config"/> (seeded Hugging Face initialisation) saved
    /// with every tensor in BF16; <paramref name="edit"/>(name, bits) may change a tensor's bits
    /// before it is written (a NaN for the load-time check).
    /// </summary>
    public static void Write(string dir, LlamaConfig config, ulong seed, Action<string, ushort[]>? edit = null)
    {
        using (var be = new CpuBackend())
        using (var model = new Llama(config, be))
        {
            model.InitializeWeights(seed);
            Checkpoint.Save(dir, model, new TrainingState { Tokenizer = "byte" }, withOptimizer: false);
        }
        Rewrite(Path.Combine(dir, Checkpoint.ModelFile), edit);
    }

    /// <summary>Rewrites an F32 safetensors file as BF16 (round to nearest even), its metadata kept.</summary>
    public static void Rewrite(string path, Action<string, ushort[]>? edit = null)
    {
        var tensors = new List<(string Name, int[] Shape, ushort[] Bits)>();
        Dictionary<string, string> metadata;
        using (var st = SafeTensors.Open(path))
        {
            metadata = new Dictionary<string, string>(st.Metadata);
            foreach (var info in st.Tensors)
            {
                var bits = st.ReadFloats(info.Name).Select(BFloat16.FromSingle).ToArray();
                edit?.Invoke(info.Name, bits);
                tensors.Add((info.Name, info.Shape, bits));
            }
        }
        var header = new JsonObject { [SafeTensors.MetadataKey] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) };
        long offset = 0;
        foreach (var (name, shape, bits) in tensors)
        {
            header[name] = new JsonObject
            {
                ["dtype"] = "BF16",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + 2L * bits.Length),
            };
            offset += 2L * bits.Length;
        }
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        file.Write(length);
        file.Write(json);
        var two = new byte[2];
        foreach (var (_, _, bits) in tensors)
            foreach (ushort b in bits)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(two, b);
                file.Write(two);
            }
    }
}
