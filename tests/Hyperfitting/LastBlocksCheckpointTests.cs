using Hyper.Runtime.Backends;
using Hyper.Runtime.Hyperfitting;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Support;

namespace Hyper.Tests.Hyperfitting;

/// <summary>
/// Hyperfitting only the last blocks keeps Adam's moments for those alone: optimizer.safetensors
/// holds the trained tensors' slices (the frozen ones' moments are zero and are not written), a
/// resume from it continues bit-exactly, and zeroing the gradients leaves frozen ones untouched.
/// </summary>
[NonParallelizable]
public class LastBlocksCheckpointTests : TempDirTest
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", name);

    private HyperfitOptions Options(string outDir, int epochs, bool resume = false) => new()
    {
        ModelDir = Fixture("llama"), DataPath = Text, OutDir = Path.Combine(Dir, outDir), Samples = 8, Seq = 16, Batch = 2,
        Epochs = epochs, Lr = 1e-3f, EvalWindows = 1, Prompts = 0, Resume = resume, TrainLastBlocks = 1,
    };

    [Test]
    public void MomentsOfTheTrainedPartAloneAreSavedAndResumeBitExactly()
    {
        var straight = Hyperfitter.Run(Options("straight", 2));
        using var cts = new CancellationTokenSource();
        int steps = 0;
        var first = Hyperfitter.Run(Options("resumed", 2), progress: _ => { if (++steps == 3) cts.Cancel(); }, cancel: cts.Token);
        Assert.That(first.Interrupted);
        var rest = Hyperfitter.Run(Options("resumed", 2, resume: true));
        Assert.That(rest.Steps, Is.EqualTo(straight.Steps));
        var config = Checkpoint.ReadConfig(straight.OutDir);
        Assert.That(Checkpoint.ReadWeights(rest.OutDir, config, out _), Is.EqualTo(Checkpoint.ReadWeights(straight.OutDir, config, out _)));

        // llama (2 blocks, untied head) with last:1: block 1's slice of each per-block tensor, the final norm and lm_head.
        var layout = new ParameterLayout(((LlamaConfig)config).NumHiddenLayers, Llama.LayoutSpecs((LlamaConfig)config));
        using var st = SafeTensors.Open(Path.Combine(rest.OutDir, Checkpoint.OptimizerFile));
        Assert.That(st.Metadata["train_last_blocks"], Is.EqualTo("1"));
        Assert.That(st.Names, Does.Not.Contain("m.embed"), "the frozen embedding's moments are not written");
        Assert.That(st.Names, Does.Contain("m.lmhead").And.Contain("v.normw"));
        var q = layout["qw"];
        Assert.That(st.Info("m.qw").Count, Is.EqualTo(q.Count / 2), "one block of two");
    }

    [Test]
    public void ZeroGradientsLeavesFrozenGradientsAlone()
    {
        using var backend = new CpuBackend();
        var (model, _) = Checkpoint.Load(Fixture("llama"), backend);
        using var _m = model;
        backend.Upload(Enumerable.Repeat(1f, (int)model.Layout.Total).ToArray(), model.Gradients);
        model.TrainLastBlocks = 1;
        model.ZeroGradients();
        var g = model.ReadGradients();
        var embed = model.Layout["embed"];
        var lmhead = model.Layout["lmhead"];
        Assert.That(g[(int)embed.Offset], Is.EqualTo(1f), "frozen: untouched");
        Assert.That(g[(int)lmhead.Offset], Is.Zero, "trained: zeroed");
    }
}
