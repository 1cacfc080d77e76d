using Hyper.Tests.Data;

namespace Hyper.Tests.Support;

/// <summary>A test fixture with a fresh temporary folder per test (<see cref="Dir"/>), removed after it.</summary>
public abstract class TempDirTest
{
    /// <summary>This test's own folder.</summary>
    protected string Dir { get; private set; } = "";

    /// <summary>The small fixture text the command tests train and evaluate on.</summary>
    protected static string Text => Fixtures.Path("hf_eval.txt");

    [SetUp]
    public void MakeTempDir() => Dir = Corpora.TempDir();

    [TearDown]
    public void RemoveTempDir() => Directory.Delete(Dir, recursive: true);
}
