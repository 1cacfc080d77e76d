using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// Output paths are checked before any work starts (an --out that is a file fails before the corpus
/// is tokenized, not after the run), and a folder given where a file is expected is called a folder.
/// </summary>
[NonParallelizable]
public class BadPathTests
{
    private string _root = "", _model = "", _hyper = "", _config = "";
    private string _dir = "", _file = "";

    private static string Text => Fixtures.Path("hf_eval.txt");

    [OneTimeSetUp]
    public void MakeInputs()
    {
        _root = Corpora.TempDir();
        _model = Path.Combine(_root, "model");
        Trainer.Run(new TrainOptions { DataPath = Text, OutDir = _model, Model = "tiny", Steps = 1, Batch = 2, Seq = 16, EvalWindows = 2 });
        _config = Path.Combine(_root, "config.json");
        File.WriteAllText(_config, """{"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 256}""");
        _hyper = Path.Combine(_root, "hyper");
        var (code, _, err) = CliRunner.Run("hypernet", "train", "--data-a", Text, "--data-b", Text, "--model", _config, "--out", _hyper,
            "--seq", "16", "--batch", "2", "--steps", "1", "--eval-windows", "1", "--hidden", "8");
        Assert.That(code, Is.Zero, err);
    }

    [OneTimeTearDown]
    public void RemoveInputs() => Directory.Delete(_root, recursive: true);

    [SetUp]
    public void SetUp()
    {
        _dir = Corpora.TempDir();
        _file = Path.Combine(_dir, "precious.txt");
        File.WriteAllText(_file, "not to be touched");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every command that writes a folder, with its output flag set to <paramref name="out"/>.</summary>
    private string[][] FolderWriters(string @out) =>
    [
        ["train", "--model", "tiny", "--data", Text, "--out", @out, "--steps", "2", "--batch", "2", "--seq", "16"],
        ["hyperfit", "--model", _model, "--data", Text, "--out", @out, "--samples", "4", "--seq", "16", "--batch", "2", "--epochs", "1"],
        ["hypernet", "train", "--data-a", Text, "--data-b", Text, "--model", _config, "--out", @out, "--seq", "16", "--batch", "2", "--steps", "1", "--hidden", "8"],
        ["hypernet", "export", "--hypernet", _hyper, "--gamma", "0.5", "--out", @out],
        ["convert", "--in", _model, "--out", @out],
        ["demo", "--model", _model, "--data", Text, "--out", @out],
    ];

    [Test]
    public void AnOutputFolderThatIsAFileIsRefusedBeforeAnyWork()
    {
        foreach (var args in FolderWriters(_file))
        {
            string error = CliRunner.RunExpectingUserError(args, _file, "is a file; it must name a folder");
            Assert.That(error, Does.Contain("--out"));
        }
        Assert.That(File.ReadAllText(_file), Is.EqualTo("not to be touched"));
    }

    [Test]
    public void AnOutputFolderUnderAFileIsRefusedBeforeAnyWork()
    {
        string under = Path.Combine(_file, "run");
        foreach (var args in FolderWriters(under))
            CliRunner.RunExpectingUserError(args, under, $"{_file} is a file, not a folder");
        Assert.That(File.ReadAllText(_file), Is.EqualTo("not to be touched"));
    }

    [Test]
    public void AnOutputFileThatIsAFolderIsRefused()
    {
        string folder = Path.Combine(_dir, "model.bin");
        Directory.CreateDirectory(folder);
        CliRunner.RunExpectingUserError(["convert", "--in", _model, "--out", folder], folder, "is a folder; it must name a file");
        string csv = Path.Combine(_dir, "rows.csv");
        Directory.CreateDirectory(csv);
        CliRunner.RunExpectingUserError(["eval-gen", "--model", _model, "--from", Text, "--prompts", "1", "--prompt-tokens", "4", "--new-tokens", "4", "--csv", csv],
            csv, "--csv", "is a folder");
        CliRunner.RunExpectingUserError(["hypernet", "compare", _hyper, "--plot", _dir], "--plot", _dir, "is a folder");
        Assert.That(Directory.GetFileSystemEntries(folder), Is.Empty);
    }

    [Test]
    public void AFolderGivenAsInputTextIsCalledAFolder()
    {
        string folder = Path.Combine(_dir, "corpus");
        Directory.CreateDirectory(folder);
        string[][] commands =
        [
            ["train", "--model", "tiny", "--data", folder, "--out", Path.Combine(_dir, "a")],
            ["train", "--model", "tiny", "--data", Text, "--val-data", folder, "--out", Path.Combine(_dir, "b")],
            ["hyperfit", "--model", _model, "--data", folder, "--out", Path.Combine(_dir, "c")],
            ["hypernet", "train", "--data-a", folder, "--data-b", Text, "--out", Path.Combine(_dir, "d")],
            ["hypernet", "eval", "--hypernet", _hyper, "--gamma", "0.5", "--data", folder],
            ["eval", "--model", _model, "--data", folder],
            ["generate", "--model", _model, "--prompt-file", folder],
            ["eval-gen", "--model", _model, "--from", folder],
            ["convert", "--in", Path.Combine(folder), "--out", Path.Combine(_dir, "e.bin")],
        ];
        foreach (var args in commands)
        {
            string error = CliRunner.RunExpectingUserError(args, folder);
            Assert.That(error, Does.Contain("is a folder").Or.Contain("not a checkpoint folder").Or.Contain("config.json"), string.Join(' ', args));
            Assert.That(error, Does.Not.Contain("does not exist"), string.Join(' ', args));
        }
        Assert.That(Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "precious.txt", "corpus" }), "nothing was written");
    }
}
