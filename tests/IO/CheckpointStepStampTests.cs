using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.IO;

/// <summary>Files of two saves mixed by hand are refused, with the file and both steps named, and left as they are.</summary>
[NonParallelizable]
public class CheckpointStepStampTests
{
    [Test]
    public void WeightsOfAnotherStepAreRefused()
    {
        string root = Corpora.TempDir();
        try
        {
            string text = Fixtures.Path("hf_eval.txt"), a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
            TrainOptions Options(string dir, int steps) => new() { DataPath = text, OutDir = dir, Model = "tiny", Steps = steps, Batch = 2, Seq = 16, EvalWindows = 2 };
            Trainer.Run(Options(a, 2));
            Trainer.Run(Options(b, 3));
            File.Copy(Path.Combine(b, Checkpoint.ModelFile), Path.Combine(a, Checkpoint.ModelFile), overwrite: true);
            var before = FolderSnapshot.Take(a);
            CliRunner.RunExpectingUserError(["eval", "--model", a, "--data", text, "--seq", "16"],
                Path.Combine(a, Checkpoint.ModelFile), "written at step 3", "hyper.json says step 2");
            CliRunner.RunExpectingUserError(["train", "--resume", "--data", text, "--out", a, "--steps", "4", "--batch", "2", "--seq", "16"],
                Path.Combine(a, Checkpoint.ModelFile), "written at step 3");
            Assert.That(FolderSnapshot.Take(a), Is.EqualTo(before), "the folder is left as it was");
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
