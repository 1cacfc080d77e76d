using System.Text.Json;

namespace Hyper.Runtime.IO;

/// <summary>
/// A checkpoint's weights as one set of named tensors, whether they sit in one model.safetensors
/// or in shards listed by model.safetensors.index.json (Hugging Face's <c>weight_map</c>: tensor
/// name → shard file). Errors name the file that is wrong.
/// </summary>
public sealed class WeightFiles : IDisposable
{
    /// <summary>The index of a sharded checkpoint.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    private readonly List<SafeTensors> _files = [];
    private readonly Dictionary<string, SafeTensors> _byTensor = new(StringComparer.Ordinal);

    /// <summary>The file (single) or index (sharded) the weights were read from, for messages.</summary>
    public string Path { get; }

    /// <summary>Every tensor, over all shards.</summary>
    public IReadOnlyList<SafeTensors.TensorInfo> Tensors => _tensors;

    /// <summary>The first file's metadata (a single file's, or the first shard's).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _files[0].Metadata;

    private WeightFiles(string path) => Path = path;

    /// <summary>Whether a checkpoint folder has weights in either form.</summary>
    public static bool Exist(string dir) =>
        File.Exists(System.IO.Path.Combine(dir, Checkpoint.ModelFile)) || File.Exists(System.IO.Path.Combine(dir, IndexFile));

    /// <summary>Opens model.safetensors, or else the shards of model.safetensors.index.json.</summary>
    public static WeightFiles Open(string dir)
    {
        string single = System.IO.Path.Combine(dir, Checkpoint.ModelFile), index = System.IO.Path.Combine(dir, IndexFile);
        if (File.Exists(single))
        {
            var w = new WeightFiles(single);
            w.Add(SafeTensors.Open(single), null);
            return w.Done();
        }
        if (!File.Exists(index)) throw new FileNotFoundException($"{dir}: neither {Checkpoint.ModelFile} nor {IndexFile}", single);
        var map = ReadWeightMap(index);
        var shards = new WeightFiles(index);
        try
        {
            foreach (var file in map.Values.Distinct().Order(StringComparer.Ordinal))
            {
                string path = System.IO.Path.Combine(dir, file);
                if (file.Contains('/') || file.Contains('\\') || file.StartsWith('.'))
                    throw new InvalidDataException($"{index}: shard '{file}' is not a file name in the checkpoint folder");
                if (!File.Exists(path)) throw new InvalidDataException($"{index}: shard '{file}' is listed in weight_map but {path} does not exist");
                shards.Add(SafeTensors.Open(path), map.Where(kv => kv.Value == file).Select(kv => kv.Key).ToHashSet());
            }
            foreach (var name in map.Keys)
                if (!shards._byTensor.ContainsKey(name))
                    throw new InvalidDataException($"{index}: weight_map puts '{name}' in {map[name]}, which has no such tensor");
            return shards.Done();
        }
        catch
        {
            shards.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string index)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index}: no weight_map object");
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in wm.EnumerateObject())
                map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new InvalidDataException($"{index}: weight_map['{p.Name}'] is not a file name");
            if (map.Count == 0) throw new InvalidDataException($"{index}: weight_map is empty");
            return map;
        }
        catch (JsonException e) { throw new InvalidDataException($"{index}: not valid JSON ({e.Message})"); }
    }

    private void Add(SafeTensors file, HashSet<string>? listed)
    {
        _files.Add(file);
        foreach (var name in file.Names)
        {
            if (listed is not null && !listed.Contains(name)) continue; // weight_map decides where a tensor lives
            if (!_byTensor.TryAdd(name, file))
                throw new InvalidDataException($"{Path}: tensor '{name}' is in both {_byTensor[name].Path} and {file.Path}");
        }
    }

    private WeightFiles Done()
    {
        _tensors = _byTensor.Select(kv => kv.Value.Info(kv.Key)).ToList();
        return this;
    }

    private List<SafeTensors.TensorInfo> _tensors = [];

    /// <summary>Whether a tensor of that name exists.</summary>
    public bool Contains(string name) => _byTensor.ContainsKey(name);

    /// <summary>A tensor's dtype and shape.</summary>
    public SafeTensors.TensorInfo Info(string name) => FileOf(name).Info(name);

    /// <summary>The shard that holds a tensor.</summary>
    public SafeTensors FileOf(string name) =>
        _byTensor.TryGetValue(name, out var f) ? f : throw new InvalidDataException($"{Path}: tensor '{name}' is missing");

    /// <summary>Reads a tensor as floats (F32/F16/BF16), refusing NaN and ±Inf with the file, tensor and index.</summary>
    public float[] ReadFinite(string name) => Checkpoint.ReadFinite(FileOf(name), name);

    /// <summary>Reads a tensor (F32/F16/BF16) into <paramref name="destination"/> (its element count), refusing NaN and ±Inf with the file, tensor and index.</summary>
    public void ReadFinite(string name, Span<float> destination)
    {
        var file = FileOf(name);
        file.ReadFloats(name, destination);
        FiniteValues.Check(destination, file.Path, name);
    }

    /// <summary>Reads a BF16 tensor's bits into <paramref name="destination"/> (its element count), refusing NaN and ±Inf with the file, tensor and index.</summary>
    public void ReadBf16Finite(string name, Span<ushort> destination)
    {
        var file = FileOf(name);
        file.ReadBf16(name, destination);
        FiniteValues.Check(destination, file.Path, name);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
