using System.Buffers.Binary;
using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// A checkpoint whose weights hold NaN or ±Inf is refused at load by every command that reads it,
/// naming the file, the tensor and the index (exit 2), instead of failing later in the sampler or
/// the JSON writer with a message about something else.
/// </summary>
[NonParallelizable]
public class NonFiniteWeightsTests : TemplateCheckpointTest
{
    /// <summary>Overwrites element <paramref name="index"/> of an F32 tensor in a safetensors file.</summary>
    private static void Poke(string file, string tensor, int index, float value)
    {
        long dataStart;
        long begin;
        using (var st = SafeTensors.Open(file))
        {
            var info = st.Info(tensor);
            Assert.That(info.DType, Is.EqualTo("F32"));
            begin = info.Begin;
        }
        var bytes = File.ReadAllBytes(file);
        dataStart = 8 + BinaryPrimitives.ReadInt64LittleEndian(bytes);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)(dataStart + begin + 4L * index)), value);
        File.WriteAllBytes(file, bytes);
    }

    [TestCase("h.0.ln_1.weight", 0, float.NaN, "holds NaN at index 0")]
    [TestCase("wte.weight", 37, float.PositiveInfinity, "holds +Inf at index 37")]
    [TestCase("h.1.mlp.c_fc.bias", 5, float.NegativeInfinity, "holds -Inf at index 5")]
    public void EveryReaderRefusesANonFiniteWeight(string tensor, int index, float value, string problem)
    {
        string dir = CopyOfCheckpoint();
        string model = Path.Combine(dir, Checkpoint.ModelFile);
        Poke(model, tensor, index, value);
        var before = File.ReadAllBytes(model);

        string[][] commands =
        [
            ["eval", "--model", dir, "--data", Text, "--seq", "16"],
            ["eval", "--model", dir, "--data", Text, "--seq", "16", "--json"],
            ["generate", "--model", dir, "--prompt", "Call me", "--max-new-tokens", "4"],
            ["convert", "--in", dir, "--out", Path.Combine(Dir, "out.bin")],
            ["train", "--resume", "--data", Text, "--out", dir, "--steps", "4", "--batch", "2", "--seq", "16"],
            ["hyperfit", "--model", dir, "--data", Text, "--out", Path.Combine(Dir, "fit"), "--samples", "4", "--seq", "16", "--epochs", "1", "--batch", "2"],
        ];
        foreach (var args in commands)
            CliRunner.RunExpectingUserError(args, model, $"tensor {tensor}", problem);
        Assert.That(File.ReadAllBytes(model), Is.EqualTo(before), "the refused file is left as it was");
        Assert.That(File.Exists(Path.Combine(Dir, "out.bin")), Is.False);
    }

    [Test]
    public void ANonFiniteOptimizerMomentIsRefusedOnResume()
    {
        string dir = CopyOfCheckpoint();
        string opt = Path.Combine(dir, Checkpoint.OptimizerFile);
        Poke(opt, "v.fcw", 11, float.NaN);
        CliRunner.RunExpectingUserError(
            ["train", "--resume", "--data", Text, "--out", dir, "--steps", "4", "--batch", "2", "--seq", "16"],
            opt, "tensor v.fcw holds NaN at index 11");
        // Loading without the optimizer state (eval) does not read it, so it still works.
        Assert.That(CliRunner.Run("eval", "--model", dir, "--data", Text, "--seq", "16").Code, Is.Zero);
    }

    [Test]
    public void AnLlmcFileWithANonFiniteWeightIsRefused()
    {
        string good = Path.Combine(Dir, "good.bin"), bad = Path.Combine(Dir, "bad.bin");
        Assert.That(CliRunner.Run("convert", "--in", TemplateDir, "--out", good).Code, Is.Zero);
        var (config, _) = LlmcCheckpoint.Read(good);
        var bytes = File.ReadAllBytes(good);
        // wte is stored first, padded to a multiple of 128 rows; wpe follows: its element 2.
        int paddedV = (config.VocabSize + 127) / 128 * 128;
        long at = 1024 + 4L * ((long)paddedV * config.NEmbd + 2);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)at), float.NaN);
        File.WriteAllBytes(bad, bytes);
        CliRunner.RunExpectingUserError(["convert", "--in", bad, "--out", Path.Combine(Dir, "folder")], bad, "tensor wpe holds NaN at index 2");
        Assert.That(Directory.Exists(Path.Combine(Dir, "folder")), Is.False);
    }

    [Test]
    public void TheIndexIsTheFirstNonFiniteOne()
    {
        // Every position of a vector, and the scalar tail, is found (lengths around the vector width).
        foreach (int n in new[] { 1, 15, 16, 17, 33, 100 })
            for (int at = 0; at < n; at++)
            {
                var x = Enumerable.Range(0, n).Select(i => i * 0.5f - 3f).ToArray();
                x[at] = float.NaN;
                if (at + 1 < n) x[n - 1] = float.PositiveInfinity;
                Assert.That(FiniteValues.IndexOfNonFinite(x), Is.EqualTo(at), $"n={n} at={at}");
            }
        Assert.That(FiniteValues.IndexOfNonFinite(new float[40]), Is.EqualTo(-1));
        Assert.That(FiniteValues.IndexOfNonFinite([float.MaxValue, -float.MaxValue, float.Epsilon]), Is.EqualTo(-1));
    }
}
