using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Training;

/// <summary>A checkpoint we write reads back bit for bit: weights, AdamW moments and training state.</summary>
public class CheckpointRoundTripTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);


    [Test]
    public void SaveThenLoadGivesBackEveryBit()
    {
        using var backend = new CpuBackend();
        using var model = new Gpt2(Gpt2Config.Tiny, backend);
        model.InitializeWeights(11);
        // A few real AdamW steps, so the moments are neither zero nor equal to one another.
        const int B = 2, T = 16;
        var rng = new Random(3);
        var x = Enumerable.Range(0, B * T).Select(_ => rng.Next(256)).ToArray();
        var y = Enumerable.Range(0, B * T).Select(_ => rng.Next(256)).ToArray();
        for (int i = 0; i < 3; i++)
        {
            model.ZeroGradients();
            model.Forward(x, y, B, T);
            model.Backward();
            model.Update(1e-3f, new AdamWSettings { WeightDecay = 0.1f, GradClip = 1f });
        }
        // Values a lossy path (a decimal round trip, a half-precision store, a flush of
        // subnormals, a sign dropped from zero) would change.
        var weights = model.ReadParameters();
        weights[0] = -0f;
        weights[1] = float.Epsilon;
        weights[2] = float.MaxValue;
        weights[3] = -1.17549421e-38f; // the largest negative subnormal
        weights[4] = 1f + MathF.Pow(2, -23);
        model.LoadParameters(weights);
        var (m, v) = model.OptimizerState();
        var hm = Check.Download(backend, m);
        var hv = Check.Download(backend, v);
        Assert.That(hm.Count(e => e != 0), Is.GreaterThan(hm.Length / 2), "the moments were updated");

        var state = new TrainingState
        {
            Tokenizer = "byte",
            Step = model.Step,
            DataPosition = 123_456_789_012,
            Seed = ulong.MaxValue - 5,
            Train = new Dictionary<string, string> { ["lr"] = "0.001", ["data"] = "/some/where.txt" },
        };
        Checkpoint.Save(_dir, model, state, withOptimizer: true);

        using var backend2 = new CpuBackend();
        var (loaded, loadedState) = Checkpoint.Load(_dir, backend2, withOptimizer: true);
        using (loaded)
        {
            Assert.That(loaded.Config, Is.EqualTo(model.Config));
            Assert.That(Check.Bits(loaded.ReadParameters()), Is.EqualTo(Check.Bits(weights)));
            var (m2, v2) = loaded.OptimizerState();
            Assert.That(Check.Bits(Check.Download(backend2, m2)), Is.EqualTo(Check.Bits(hm)));
            Assert.That(Check.Bits(Check.Download(backend2, v2)), Is.EqualTo(Check.Bits(hv)));
            Assert.That(loaded.Step, Is.EqualTo(3));
        }
        Assert.That(loadedState.Step, Is.EqualTo(3));
        Assert.That(loadedState.Tokenizer, Is.EqualTo("byte"));
        Assert.That(loadedState.DataPosition, Is.EqualTo(state.DataPosition));
        Assert.That(loadedState.Seed, Is.EqualTo(state.Seed));
        Assert.That(loadedState.HasOptimizer, Is.True);
        Assert.That(loadedState.Train, Is.EquivalentTo(state.Train));

        // Saving what was loaded writes the same bytes: nothing drifts over save/load cycles.
        string again = Path.Combine(_dir, "again");
        using (var backend3 = new CpuBackend())
        {
            var (reloaded, reState) = Checkpoint.Load(_dir, backend3, withOptimizer: true);
            using (reloaded) Checkpoint.Save(again, reloaded, reState, withOptimizer: true);
        }
        foreach (string f in new[] { Checkpoint.ConfigFile, Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.StateFile })
            Assert.That(File.ReadAllBytes(Path.Combine(again, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, f))), f);
    }

    [Test]
    public void WithoutOptimizerStateTheMomentsStartAtZero()
    {
        using var backend = new CpuBackend();
        using var model = new Gpt2(Gpt2Config.Tiny, backend);
        model.InitializeWeights(5);
        Checkpoint.Save(_dir, model, new TrainingState { Tokenizer = "byte" }, withOptimizer: false);
        Assert.That(File.Exists(Path.Combine(_dir, Checkpoint.OptimizerFile)), Is.False);
        var (loaded, state) = Checkpoint.Load(_dir, backend, withOptimizer: true);
        using (loaded)
        {
            Assert.That(state.HasOptimizer, Is.False);
            Assert.That(Check.Bits(loaded.ReadParameters()), Is.EqualTo(Check.Bits(model.ReadParameters())));
            var (m, _) = loaded.OptimizerState();
            Assert.That(Check.Download(backend, m), Is.All.EqualTo(0f));
        }
    }
}
