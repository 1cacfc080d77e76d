using Hyper.Kernels;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Support;

namespace Hyper.Tests.IO;

/// <summary>
/// A Llama folder of BF16 tensors loaded on the cpu backend reading bf16 or q8: its matmul weights become
/// the backend's copies as they load (bf16: the bits as they are; q8: each tensor quantised from a scratch),
/// and their fp32 arena stays unwritten. The products must be bit for bit those of the widening path (load
/// as fp32, then pack: round to nearest even of a bf16-representable float is that value, and q8 packs the
/// same floats), and what would read the missing floats is refused.
/// </summary>
public class StraightLoadTests : TempDirTest
{
    // 250 tokens pad the head to 256 rows, so an untied head's pad rows are covered too.
    private static LlamaConfig Config(bool tied) => LlamaConfig.LlamaTiny with { VocabSize = 250, TieWordEmbeddings = tied };

    private static readonly int[] Prompt = [3, 17, 200, 42, 9, 111, 5];

    private string Folder(bool tied, Action<string, ushort[]>? edit = null)
    {
        string dir = Path.Combine(Dir, tied ? "tied" : "untied");
        Bf16Folder.Write(dir, Config(tied), seed: 7, edit);
        return dir;
    }

    /// <summary>Loads <paramref name="dir"/> with <paramref name="format"/> weights, straight (the format set before loading) or by packing the widened fp32 weights (set after).</summary>
    private static (CpuBackend Backend, ICausalLm Model) Load(string dir, bool straight, WeightFormat format = WeightFormat.Bf16)
    {
        var be = new CpuBackend();
        if (straight) LowPrecision.Use(be, format);
        var (model, _) = Checkpoint.Load(dir, be);
        if (!straight) LowPrecision.Use(be, format);
        return (be, model);
    }

    private static IEnumerable<TestCaseData> TiedAndFormats()
    {
        foreach (var format in new[] { WeightFormat.Bf16, WeightFormat.Q8 })
            foreach (bool tied in new[] { false, true })
                yield return new TestCaseData(tied, format).SetName($"{format} tied={tied}");
    }

    /// <summary>The logits of a prefill and four greedy decode steps, then the loss of one forward with targets.</summary>
    private static (List<float[]> Logits, float Loss) Run(ICausalLm model)
    {
        int V = model.Config.VocabSize;
        var logits = new List<float[]>();
        using (var decoder = model.CreateDecoder(1, 16))
        {
            var last = new float[V];
            decoder.Feed(Prompt, Prompt.Length, last);
            for (int s = 0; s < 4; s++)
            {
                logits.Add((float[])last.Clone());
                int next = Array.IndexOf(last, last.Max());
                decoder.Feed([next], 1, last);
            }
            logits.Add(last);
        }
        float loss = model.Forward(Prompt[..^1], Prompt[1..], 1, Prompt.Length - 1);
        return (logits, loss);
    }

    private static IEnumerable<ParameterLayout.Entry> MatmulEntries(ICausalLm model) =>
        model.Layout.Entries.Where(e => Llama.MatmulWeights.Contains(e.Name));

    [TestCaseSource(nameof(TiedAndFormats))]
    public void StraightLoadMultipliesAsWideningDoesBitForBit(bool tied, WeightFormat format)
    {
        string dir = Folder(tied);
        var (widenBe, widened) = Load(dir, straight: false, format);
        var (straightBe, straight) = Load(dir, straight: true, format);
        using (widenBe)
        using (widened)
        using (straightBe)
        using (straight)
        {
            long matmul = MatmulEntries(straight).Sum(e => e.Count);
            // Without the straight path this is 0 and the rest would compare the widening path with itself.
            Assert.That(straightBe.PackedOnlyFloats, Is.EqualTo(matmul), "every matmul weight (an untied head with its pad rows) is a copy from the file");
            Assert.That(widenBe.PackedOnlyFloats, Is.Zero);
            Assert.That(MatmulEntries(straight).Any(e => e.Name == "lmhead"), Is.EqualTo(!tied));

            var (expected, expectedLoss) = Run(widened);
            var (actual, actualLoss) = Run(straight);
            for (int s = 0; s < expected.Count; s++)
                Assert.That(actual[s].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected[s].Select(BitConverter.SingleToInt32Bits)), $"logits of step {s}");
            Assert.That(BitConverter.SingleToInt32Bits(actualLoss), Is.EqualTo(BitConverter.SingleToInt32Bits(expectedLoss)), $"loss {actualLoss} against {expectedLoss}");
            // The same copies, byte for byte in size: a tied head (the embedding) is packed from fp32 on both paths.
            Assert.That(straightBe.PackedBytes, Is.EqualTo(widenBe.PackedBytes));

            // After decoding and a forward the matmul regions are still the allocation's zeros; the rest holds the weights.
            var arena = new float[straight.Layout.Total];
            straightBe.Download(straight.Parameters, arena);
            var reference = widened.ReadParameters();
            foreach (var e in straight.Layout.Entries)
            {
                var got = arena.AsSpan((int)e.Offset, (int)e.Count);
                if (Llama.MatmulWeights.Contains(e.Name))
                    Assert.That(got.IndexOfAnyExcept(0f), Is.EqualTo(-1), $"{e.Name} was written to the arena");
                else
                    Assert.That(got.SequenceEqual(reference.AsSpan((int)e.Offset, (int)e.Count)), $"{e.Name} is loaded in fp32");
            }
        }
    }

    [TestCase(0x7FC0, "NaN", WeightFormat.Bf16)]
    [TestCase(0x7F80, "+Inf", WeightFormat.Bf16)]
    [TestCase(0xFF80, "-Inf", WeightFormat.Bf16)]
    [TestCase(0x7FC0, "NaN", WeightFormat.Q8)]
    [TestCase(0xFF80, "-Inf", WeightFormat.Q8)]
    public void ANonFiniteBf16WeightIsRefusedNamingFileTensorAndIndex(int bits, string what, WeightFormat format)
    {
        const string Tensor = "model.layers.1.self_attn.k_proj.weight";
        string dir = Folder(tied: false, (name, values) =>
        {
            if (name == Tensor) values[37] = (ushort)bits;
        });
        string file = Path.Combine(dir, Checkpoint.ModelFile);
        foreach (bool straight in new[] { true, false })
        {
            var e = Assert.Throws<InvalidDataException>(() => Load(dir, straight, format))!;
            // The same words on both paths: the straight one checks the bits, the widening one the floats.
            Assert.That(e.Message, Is.EqualTo($"{file}: tensor {Tensor} holds {what} at index 37"), straight ? "straight" : "widening");
        }
    }

    [TestCase(WeightFormat.Bf16)]
    [TestCase(WeightFormat.Q8)]
    public void WhatWouldReadTheMissingFp32WeightsIsRefused(WeightFormat format)
    {
        string dir = Folder(tied: false);
        string name = LowPrecision.Name(format);
        var (be, model) = Load(dir, straight: true, format);
        using var _ = be;
        using (model)
        {
            Assert.That(() => Checkpoint.Save(Path.Combine(Dir, "saved"), model, new TrainingState { Tokenizer = "byte" }, withOptimizer: false),
                Throws.InvalidOperationException.With.Message.StartsWith($"cannot save it: its matmul weights were loaded from the checkpoint straight into {name} copies only"));
            Assert.That(Directory.Exists(Path.Combine(Dir, "saved")) && Checkpoint.IsCheckpoint(Path.Combine(Dir, "saved")), Is.False, "nothing was saved");

            // Eval works; training does not (its backward reads the weights, AdamW writes them).
            float loss = model.Forward(Prompt[..^1], Prompt[1..], 1, Prompt.Length - 1);
            Assert.That(float.IsFinite(loss));
            Assert.That(() => model.Backward(), Throws.InvalidOperationException.With.Message.StartsWith("cannot train it"));
            Assert.That(() => model.Update(1e-3f, new AdamWSettings()), Throws.InvalidOperationException.With.Message.StartsWith("cannot train it"));
            Assert.That(() => model.ReadParameters(), Throws.InvalidOperationException.With.Message.StartsWith("cannot read its fp32 parameters"));

            foreach (var other in new[] { WeightFormat.F32, WeightFormat.Bf16, WeightFormat.Q8 }.Where(f => f != format))
                Assert.That(() => LowPrecision.Use(be, other), Throws.InvalidOperationException.With.Message.Contains($"from {name} to {LowPrecision.Name(other)}"));
            Assert.That(be.Weights, Is.EqualTo(format));
            Assert.That(be.PackedBytes, Is.GreaterThan(0), "the refused switch kept the copies");
            LowPrecision.Use(be, format); // no switch, nothing refused
        }
        // Once the model is gone the backend may switch again.
        LowPrecision.Use(be, WeightFormat.F32);
        Assert.That(be.PackedBytes, Is.Zero);
    }

    [Test]
    public void AnF32FolderPacksOnFirstUseInBf16AndLoadsStraightInQ8()
    {
        // An F32 checkpoint on a bf16 backend widens nothing and keeps nothing straight: its copies are packed on first use.
        string dir = Path.Combine(Dir, "f32");
        using (var be = new CpuBackend())
        using (var model = new Llama(Config(tied: false), be))
        {
            model.InitializeWeights(7);
            Checkpoint.Save(dir, model, new TrainingState { Tokenizer = "byte" }, withOptimizer: false);
        }
        var (bf16Be, loaded) = Load(dir, straight: true);
        using (bf16Be)
        using (loaded)
        {
            Assert.That(bf16Be.PackedOnlyFloats, Is.Zero);
            Assert.That(() => loaded.ReadParameters(), Throws.Nothing);
        }
        // q8 quantises whatever the dtype: an F32 folder loads straight into the q8 copies too.
        var (q8Be, q8Loaded) = Load(dir, straight: true, WeightFormat.Q8);
        using (q8Be)
        using (q8Loaded)
            Assert.That(q8Be.PackedOnlyFloats, Is.EqualTo(MatmulEntries(q8Loaded).Sum(e => e.Count)));
    }
}
