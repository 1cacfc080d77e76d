using Hyper.Runtime.Models;

namespace Hyper.Runtime.IO;

/// <summary>
/// A checkpoint folder's weights opened for reading one Hugging Face tensor at a time (for work
/// that streams over models, such as merging, instead of loading whole arenas). Opening validates
/// everything <see cref="Checkpoint.Load"/> would: config.json, hyper.json, the step stamp, every
/// tensor's presence and shape, and a tied lm_head; the messages name the file and the tensor.
/// </summary>
public sealed class CheckpointTensors : IDisposable
{
    private readonly SafeTensors _file;
    private readonly string _prefix;

    /// <summary>The checkpoint folder.</summary>
    public string Dir { get; }

    /// <summary>Its config.json.</summary>
    public Gpt2Config Config { get; }

    /// <summary>Its hyper.json (or the one inferred for a folder from elsewhere).</summary>
    public TrainingState State { get; }

    /// <summary>The tensors, in <see cref="Gpt2HuggingFace.Mappings"/> order, with their HF shapes.</summary>
    public IReadOnlyList<Gpt2HuggingFace.Mapping> Mappings { get; }

    /// <summary>Path of the model.safetensors being read.</summary>
    public string ModelPath => _file.Path;

    private CheckpointTensors(string dir, Gpt2Config config, TrainingState state, SafeTensors file, string prefix)
    {
        Dir = dir;
        Config = config;
        State = state;
        _file = file;
        _prefix = prefix;
        Mappings = Gpt2HuggingFace.Mappings(config);
    }

    /// <summary>Opens and validates a checkpoint folder.</summary>
    /// <exception cref="InvalidDataException">A file is malformed, a tensor is missing or has the wrong shape, or lm_head is untied.</exception>
    public static CheckpointTensors Open(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such checkpoint folder");
        // finishes an interrupted save first; streaming goes through GPT-2's tensor mapping
        var config = Checkpoint.ReadConfig(dir) as Gpt2Config
            ?? throw new NotSupportedException($"{dir}: tensor-by-tensor reading (hyper merge) handles GPT-2 checkpoints only");
        var state = Checkpoint.ReadState(dir, config);
        string path = Path.Combine(dir, Checkpoint.ModelFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        var st = SafeTensors.Open(path);
        try
        {
            Checkpoint.CheckStep(dir, Checkpoint.ModelFile, new Dictionary<string, string>(st.Metadata), state.Step);
            string prefix = st.Contains("wte.weight") || !st.Contains("transformer.wte.weight") ? "" : "transformer.";
            var reader = new CheckpointTensors(dir, config, state, st, prefix);
            foreach (var m in reader.Mappings)
            {
                if (!st.Contains(prefix + m.Name)) throw new InvalidDataException($"{path}: tensor '{prefix + m.Name}' is missing");
                var info = st.Info(prefix + m.Name);
                if (!info.Shape.SequenceEqual(m.Shape))
                    throw new InvalidDataException($"{path}: tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", m.Shape)}]");
            }
            if (st.Contains("lm_head.weight"))
            {
                var head = st.ReadFloats("lm_head.weight");
                var wte = st.ReadFloats(prefix + "wte.weight");
                if (!head.AsSpan().SequenceEqual(wte))
                    throw new InvalidDataException($"{path}: lm_head.weight differs from wte.weight; Hyper's GPT-2 ties the output projection to the token embedding");
            }
            return reader;
        }
        catch
        {
            st.Dispose();
            throw;
        }
    }

    /// <summary>Reads the HF tensor <paramref name="name"/> (as <see cref="Mappings"/> names it, HF layout) into <paramref name="destination"/>.</summary>
    public void Read(string name, Span<float> destination) => _file.ReadFloats(_prefix + name, destination);

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();
}
