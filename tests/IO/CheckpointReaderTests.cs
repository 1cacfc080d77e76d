using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Data;

namespace Hyper.Tests.IO;

/// <summary>
/// config.json and hyper.json that lie, each the smallest form of a defect class
/// <see cref="ReaderFuzzTests"/> found: refused with the file named, before anything is sized from them.
/// </summary>
public class CheckpointReaderTests
{
    static readonly Gpt2Config Config = new() { NLayer = 2, NHead = 2, NEmbd = 8, NPositions = 8, VocabSize = 20 };

    string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Corpora.TempDir(), "ckpt");
        using var backend = new CpuBackend();
        using var model = new Gpt2(Config, backend);
        model.InitializeWeights(1);
        Checkpoint.Save(_dir, model, new TrainingState { Tokenizer = "byte", Step = 2 }, withOptimizer: false);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    void Edit(string file, Action<JsonObject> change)
    {
        string path = Path.Combine(_dir, file);
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    // Found by ReaderFuzzTests: n_layer 65536 built 786,000 tensor names and half a gigabyte
    // before the first missing tensor was noticed.
    [Test]
    public void ALayerCountTheWeightsCannotHoldIsRefusedBeforeAllocating()
    {
        Edit(Checkpoint.ConfigFile, c => c["n_layer"] = 65536);
        using var backend = new CpuBackend();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(_dir, backend));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(e!.Message, Does.Contain(Path.Combine(_dir, Checkpoint.ModelFile)).And.Contain("config.json implies"));
        Assert.That(allocated, Is.LessThan(4 << 20), "bytes allocated before refusing");
    }

    // Parameter counts past one array, or past 64 bits (3 * n_embd wrapped in int before).
    [TestCase(1, 1, 1 << 20, "more than one array holds")]
    [TestCase(1, 1, int.MaxValue, "more than 2^63")]
    [TestCase(int.MaxValue, 1, 1 << 10, "more than one array holds")]
    public void AConfigWithMoreParametersThanAnArrayHoldsIsRefused(int layers, int heads, int embd, string problem)
    {
        Edit(Checkpoint.ConfigFile, c => { c["n_layer"] = layers; c["n_head"] = heads; c["n_embd"] = embd; });
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadConfig(_dir));
        Assert.That(e!.Message, Does.Contain(Path.Combine(_dir, Checkpoint.ConfigFile)).And.Contain(problem));
    }

    [TestCase(0f)]
    [TestCase(-1e-5f)]
    public void ALayerNormEpsilonThatIsNotPositiveIsRefused(float epsilon)
    {
        Edit(Checkpoint.ConfigFile, c => c["layer_norm_epsilon"] = epsilon);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadConfig(_dir));
        Assert.That(e!.Message, Does.Contain(Path.Combine(_dir, Checkpoint.ConfigFile)).And.Contain("layer_norm_epsilon"));
    }

    // Found by ReaderFuzzTests: a null or unknown tokenizer failed later, in Tokenizers.Create,
    // with a message that did not name hyper.json.
    [TestCase("tokenizer", null, "tokenizer null")]
    [TestCase("tokenizer", "bytes", "tokenizer 'bytes'")]
    [TestCase("step", -1, "must not be negative")]
    [TestCase("data_position", -1, "must not be negative")]
    public void HyperJsonThatNoRunWritesIsRefused(string key, object? value, string problem)
    {
        Edit(Checkpoint.StateFile, s => s[key] = JsonValue.Create(value));
        using var backend = new CpuBackend();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(_dir, backend));
        Assert.That(e!.Message, Does.Contain(Path.Combine(_dir, Checkpoint.StateFile)).And.Contain(problem));
    }

    [Test]
    public void AMissingTrainSettingValueIsRefused()
    {
        Edit(Checkpoint.StateFile, s => s["train"] = new JsonObject { ["lr"] = null });
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadState(_dir, Config));
        Assert.That(e!.Message, Does.Contain(Path.Combine(_dir, Checkpoint.StateFile)).And.Contain("'lr' is null"));
    }
}
