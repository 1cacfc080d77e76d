using System.Text.Json;
using Hyper.Runtime.IO;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>--attention hyper on a Llama folder from elsewhere: train stores the layers, eval and generate use or switch them.</summary>
[NonParallelizable]
public class LlamaHyperAttentionCliTests : TempDirTest
{
    private static string Fixture => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", "llama");

    private static double Loss(string stdout) => HyperAttentionCliTests.Loss(stdout);

    [Test]
    public void TrainStoresHyperLayersAndEvalAndGenerateUseThem()
    {
        string run = Path.Combine(Dir, "run");
        string[] hyper = ["--attention", "hyper", "--hyper-layers", "last:1", "--block", "8", "--samples", "8", "--min-seq", "16", "--lsh-projs", "4"];
        var (code, _, err) = CliRunner.Run(["train", "--model", Fixture, "--data", Text, "--out", run, "--steps", "3", "--batch", "2", "--seq", "64",
            "--eval-every", "0", .. hyper]);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(File.Exists(Path.Combine(run, HyperAttentionFile.FileName)));

        string[] eval = HyperAttentionCliTests.AssertEvalUsesTheStoredLayer(run, Text);

        // The folder as it came, switched to hyper on the command line (no hyperattention file there).
        var onFixture = CliRunner.Run([.. eval[..2], Fixture, .. eval[3..], .. hyper]);
        Assert.That(onFixture.Code, Is.EqualTo(0), onFixture.Err);
        Assert.That(double.IsFinite(Loss(onFixture.Out)));

        foreach (var model in new[] { run, Fixture })
        {
            string[] extra = model == Fixture ? hyper : [];
            var gen = CliRunner.Run(["generate", "--model", model, "--prompt", "It was", "--max-new-tokens", "24", "--temperature", "0", .. extra]);
            Assert.That(gen.Code, Is.EqualTo(0), gen.Err);
            Assert.That(gen.Out, Does.StartWith("It was"));
        }
    }
}
