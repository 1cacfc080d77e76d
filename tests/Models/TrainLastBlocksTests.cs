using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Tests.Models;

/// <summary>Training only the last N blocks: what moves, what stays bit-identical, and that the trained part learns as in full training.</summary>
public class TrainLastBlocksTests
{
    private const int B = 2, T = 16;

    /// <summary>A tiny model with 3 blocks (so "last 1" leaves two frozen), after <paramref name="steps"/> Adam steps on one batch.</summary>
    private static float[] Train(int? trainLast, int steps, out ParameterLayout layout)
    {
        var config = Gpt2Config.Tiny with { NLayer = 3 };
        using var model = new Gpt2(config, new CpuBackend());
        model.InitializeWeights(11);
        model.TrainLastBlocks = trainLast;
        var rng = new Rng(5);
        var tokens = Enumerable.Range(0, B * T + 1).Select(_ => rng.NextInt(256)).ToArray();
        for (int s = 0; s < steps; s++)
        {
            model.ZeroGradients();
            model.Forward(tokens.AsSpan(0, B * T), tokens.AsSpan(1, B * T), B, T);
            model.Backward();
            // No clipping: the clip factor depends on which gradients count, and this test compares updates.
            model.Update(1e-2f, new AdamWSettings { GradClip = 0 });
        }
        layout = model.Layout;
        return model.ReadParameters();
    }

    private static float[] Block(float[] arena, ParameterLayout layout, string name, int l, int layers)
    {
        var e = layout[name];
        long per = e.Count / layers;
        return arena.AsSpan((int)(e.Offset + per * l), (int)per).ToArray();
    }

    [Test]
    public void LastBlockTrainsEarlierBlocksAndEmbeddingsStayBitIdentical()
    {
        var start = Train(null, 0, out var layout);
        var frozen = Train(1, 3, out _);
        var full = Train(null, 3, out _);
        string[] perLayer = ["ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb"];
        foreach (string name in perLayer)
        {
            for (int l = 0; l < 2; l++)
                Assert.That(Block(frozen, layout, name, l, 3), Is.EqualTo(Block(start, layout, name, l, 3)), $"{name} of frozen block {l}");
            Assert.That(Block(frozen, layout, name, 2, 3), Is.Not.EqualTo(Block(start, layout, name, 2, 3)), $"{name} of the trained block 2");
        }
        foreach (string name in new[] { "wte", "wpe" })
        {
            var e = layout[name];
            Assert.That(frozen.AsSpan((int)e.Offset, (int)e.Count).ToArray(), Is.EqualTo(start.AsSpan((int)e.Offset, (int)e.Count).ToArray()), name);
        }
        var lnf = layout["lnfw"];
        Assert.That(frozen.AsSpan((int)lnf.Offset, (int)lnf.Count).ToArray(), Is.Not.EqualTo(start.AsSpan((int)lnf.Offset, (int)lnf.Count).ToArray()), "the final layernorm trains");

        // The first step's gradient of the last block does not depend on what is frozen below it, so its
        // first update is the same as in full training (later steps differ: the inputs to the block do).
        var frozen1 = Train(1, 1, out _);
        var full1 = Train(null, 1, out _);
        foreach (string name in perLayer)
            Assert.That(Block(frozen1, layout, name, 2, 3), Is.EqualTo(Block(full1, layout, name, 2, 3)), $"{name}: first update of block 2");
        Assert.That(full, Is.Not.EqualTo(frozen), "full training moves more than the last block");
    }

    [Test]
    public void OutOfRangeBlockCountIsRefused()
    {
        using var model = new Gpt2(Gpt2Config.Tiny, new CpuBackend());
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainLastBlocks = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainLastBlocks = Gpt2Config.Tiny.NLayer + 1);
        model.TrainLastBlocks = Gpt2Config.Tiny.NLayer;
        Assert.That(model.TrainLastBlocks, Is.EqualTo(Gpt2Config.Tiny.NLayer));
    }
}
