using Hyper.Kernels.Reference;
using Hyper.Runtime;
using Hyper.Runtime.Models;

namespace Hyper.Tests.Models;

/// <summary>
/// What the GPT-2 and the Llama HyperAttention tests share: a tiny model with sharpened weights,
/// one batch of random tokens, settings with three LSH projections, and the check that small
/// blocks are an approximation that still trains.
/// </summary>
internal static class HyperAttentionTestModels
{
    public const int B = 2, T = 48;

    /// <summary>The model initialised from seed 21, then N(0, 0.15) added to every parameter, so attention is sharp and LSH blocks matter.</summary>
    public static TModel Sharpened<TModel>(TModel model) where TModel : ICausalLm
    {
        model.InitializeWeights(21);
        float[] p = model.ReadParameters();
        var rng = new Rng(22);
        for (int i = 0; i < p.Length; i++) p[i] += (float)(0.15 * rng.NextNormal());
        model.LoadParameters(p);
        return model;
    }

    /// <summary>B·T random tokens and their next tokens (seed 3).</summary>
    public static (int[] Tokens, int[] Targets) Batch(int vocab)
    {
        var rng = new Rng(3);
        var x = new int[B * T + 1];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextInt(vocab);
        return (x[..(B * T)], x[1..]);
    }

    /// <summary>HyperAttention on <paramref name="layers"/> with three LSH projections and seed 5.</summary>
    public static HyperAttentionSettings Settings(string layers, int block, int samples, int minSeq, IModelConfig config) =>
        HyperAttentionSettings.Create(new HyperAttentionConfig { BlockSize = block, SampleSize = samples, LshProjections = 3, MinSeqLen = minSeq },
            layers, config, 5);

    /// <summary>
    /// Blocks of 4 keys with 4 samples on the last layer move the loss off the exact one by more than
    /// 1e-3 (fp32 reordering stays below 1e-5), and five AdamW steps on the batch lower it by 0.05.
    /// </summary>
    public static void AssertSmallBlocksChangeTheLossAndStillTrain(ICausalLm model)
    {
        var (x, y) = Batch(model.Config.VocabSize);
        float exact = model.Forward(x, y, B, T);
        model.HyperAttention = Settings("last:1", 4, 4, 8, model.Config);
        float first = model.Forward(x, y, B, T);
        Assert.That(float.IsFinite(first));
        Assert.That(Math.Abs(first - exact), Is.GreaterThan(1e-3), "blocks of 4 keys with 4 samples are an approximation");
        float loss = first;
        for (int step = 0; step < 5; step++)
        {
            model.ZeroGradients();
            loss = model.Forward(x, y, B, T);
            model.Backward();
            model.Update(3e-3f, new AdamWSettings { WeightDecay = 0, GradClip = 1 });
        }
        Assert.That(loss, Is.LessThan(first - 0.05), "five steps on one batch must lower its loss");
    }
}
