using Hyper.Runtime.Training;
using Hyper.Tests.Data;

namespace Hyper.Tests.Support;

/// <summary>
/// A real resumable checkpoint (weights, optimizer state, hyper.json, log, plot) of the tiny preset,
/// trained two steps on a fixture text, for tests that damage copies of it.
/// </summary>
internal sealed class TemplateCheckpoint : IDisposable
{
    private readonly string _root = Corpora.TempDir();

    /// <summary>The fixture text it was trained on.</summary>
    public static string Text => Fixtures.Path("hf_eval.txt");

    /// <summary>The template folder (do not modify it: copy it).</summary>
    public string Dir { get; }

    public TemplateCheckpoint()
    {
        Dir = Path.Combine(_root, "template");
        Trainer.Run(new TrainOptions { DataPath = Text, OutDir = Dir, Model = "tiny", Steps = 2, Batch = 2, Seq = 16, EvalWindows = 2 });
    }

    /// <summary>A fresh copy of the template as <paramref name="parent"/>/<paramref name="name"/>.</summary>
    public string CopyInto(string parent, string name = "ckpt")
    {
        string dir = Path.Combine(parent, name);
        Directory.CreateDirectory(dir);
        foreach (string f in Directory.GetFiles(Dir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

/// <summary>A fixture with one <see cref="TemplateCheckpoint"/> for all its tests and a fresh folder per test to copy it into.</summary>
public abstract class TemplateCheckpointTest : TempDirTest
{
    private TemplateCheckpoint _template = null!;

    /// <summary>The template folder (copy it with <see cref="CopyOfCheckpoint"/> before changing anything).</summary>
    protected string TemplateDir => _template.Dir;

    [OneTimeSetUp]
    public void MakeTemplateCheckpoint() => _template = new TemplateCheckpoint();

    [OneTimeTearDown]
    public void RemoveTemplate() => _template.Dispose();

    /// <summary>A fresh copy of the template in this test's folder.</summary>
    protected string CopyOfCheckpoint(string name = "ckpt") => _template.CopyInto(Dir, name);
}
