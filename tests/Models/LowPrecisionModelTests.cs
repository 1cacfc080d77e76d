using Hyper.Kernels;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Generation;
using Hyper.Runtime.IO;
using Hyper.Runtime.Text;
using Hyper.Tests.Data;

namespace Hyper.Tests.Models;

/// <summary>
/// The bundled model (models/moby-byte) decoded with bf16 weights: greedy text equals fp32's for the
/// first 32 tokens on the demo's held-out prompts (16 passages of 32 tokens from the last 10% of
/// Moby-Dick) but where two logits nearly tie, and q8's differs from fp32's only a little.
/// </summary>
public class LowPrecisionModelTests
{
    [Test]
    public void GreedyTextOfBf16AndQ8AgainstF32()
    {
        string corpus = Corpora.Require("moby-dick.txt");
        string modelDir = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(corpus)!)!, "models", "moby-byte");
        if (!Checkpoint.IsCheckpoint(modelDir)) Assert.Ignore($"the bundled model is not at {modelDir}");
        string text = File.ReadAllText(corpus);
        string heldOut = text[(text.Length - text.Length / 10)..];
        var tokenizer = new ByteTokenizer();
        var prompts = HeldOutPrompts.Passages(heldOut, 16, 32, [tokenizer], "the held-out text")
            .Select(p => HeldOutPrompts.Prefix(p, 32, tokenizer)!).ToList();
        var options = new GenerationOptions { MaxNewTokens = 32, Seed = 1, StopAtEndOfText = false };

        int[][] Greedy(WeightFormat format)
        {
            using var be = new CpuBackend();
            LowPrecision.Use(be, format);
            var (m, _) = Checkpoint.Load(modelDir, be);
            using (m) return new TextGenerator(m, tokenizer).Generate(prompts, SamplingSettings.Greedy, options).Select(r => r.TokenIds).ToArray();
        }

        var f32 = Greedy(WeightFormat.F32);
        var bf16 = Greedy(WeightFormat.Bf16);
        var q8 = Greedy(WeightFormat.Q8);
        // The first position where each prompt's greedy text leaves fp32's (32: it does not).
        int[] First(int[][] other) => Enumerable.Range(0, prompts.Count).Select(p => f32[p].Zip(other[p]).TakeWhile(t => t.First == t.Second).Count()).ToArray();
        int[] b = First(bf16), q = First(q8);
        TestContext.Out.WriteLine($"first difference from f32 per prompt (32 = none): bf16 {string.Join(" ", b)}; q8 {string.Join(" ", q)}");
        // Measured: bf16 matched on 15 of 16 prompts; prompt 10 left at a near tie (see docs/low-precision.md). A
        // broken kernel diverges at once on every prompt.
        Assert.That(b.Count(i => i == 32), Is.GreaterThanOrEqualTo(15), "bf16's greedy text is fp32's on all but at most one prompt");
        Assert.That(q.Average() / 32.0, Is.GreaterThan(0.5), "q8's greedy text follows fp32's for most of the 32 tokens");
    }
}
