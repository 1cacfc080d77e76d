using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// Bad input through the command line: each is a user error (exit code 2, one line on stderr that
/// names the file and the problem, no stack trace), and nothing is written or overwritten.
/// </summary>
[NonParallelizable]
public class BadInputTests : TemplateCheckpointTest
{
    private static string[] Train(string data, string outDir, int seq = 16) =>
        ["train", "--model", "tiny", "--data", data, "--out", outDir, "--steps", "4", "--batch", "2", "--seq", $"{seq}"];

    private static string[] Resume(string outDir) => ["train", "--resume", "--data", Text, "--out", outDir, "--steps", "4", "--batch", "2", "--seq", "16"];

    private static string[] Eval(string model, string data, int seq = 16) => ["eval", "--model", model, "--data", data, "--seq", $"{seq}"];

    private string WriteFile(string name, string text)
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    // --- corpora ---

    [Test]
    public void MissingDataFile()
    {
        string missing = Path.Combine(Dir, "missing.txt"), run = Path.Combine(Dir, "run");
        CliRunner.RunExpectingUserError(Train(missing, run), missing, "no such file");
        Assert.That(Directory.Exists(run), Is.False, "no out folder for a run that never started");
        CliRunner.RunExpectingUserError(Eval(TemplateDir, missing), missing, "does not exist");
    }

    [Test]
    public void UnreadableDataFile()
    {
        string path = WriteFile("secret.txt", "Call me Ishmael. Some years ago, never mind how long precisely."), run = Path.Combine(Dir, "run");
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("Unix file modes: on Windows an unreadable file needs an ACL");
            return;
        }
        File.SetUnixFileMode(path, UnixFileMode.None);
        try
        {
            using (File.OpenRead(path))
                Assert.Ignore("the file stays readable with mode 000: the tests run as root, whom permissions do not stop");
        }
        catch (UnauthorizedAccessException)
        {
            // As intended: the file cannot be read.
        }
        CliRunner.RunExpectingUserError(Train(path, run), path, "denied");
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void EmptyCorpus()
    {
        string path = WriteFile("empty.txt", ""), run = Path.Combine(Dir, "run");
        CliRunner.RunExpectingUserError(Train(path, run), path, "empty");
        Assert.That(Directory.Exists(run), Is.False);
        CliRunner.RunExpectingUserError(Eval(TemplateDir, path), path, "empty");
    }

    [Test]
    public void CorpusShorterThanOneWindow()
    {
        string path = WriteFile("short.txt", "Call me Ishmael. Some years ago."), run = Path.Combine(Dir, "run"); // 32 bytes
        CliRunner.RunExpectingUserError(Train(path, run, seq: 64), path, "32 tokens", "fewer than one window of 65");
        Assert.That(Directory.Exists(run), Is.False);
        CliRunner.RunExpectingUserError(Eval(TemplateDir, path, seq: 64), path, "32 tokens", "fewer than one window of 65");
    }

    [Test]
    public void CorpusTooShortForTheHeldOutPart()
    {
        // 1000 bytes train fine at T = 64, but the 5% held out (50 tokens) is less than a window.
        string path = WriteFile("small.txt", new string('a', 1000)), run = Path.Combine(Dir, "run");
        CliRunner.RunExpectingUserError(Train(path, run, seq: 64), path, "validation split has 50 tokens");
        Assert.That(Directory.Exists(run), Is.False);
    }

    // --- checkpoints: safetensors ---

    private static (byte[] Header, byte[] Data) Split(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (file[8..(8 + n)], file[(8 + n)..]);
    }

    private static byte[] Join(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>Rewrites the header's JSON, keeping the data section as it is.</summary>
    private static byte[] EditHeader(byte[] file, Action<JsonObject, long> edit)
    {
        var (header, data) = Split(file);
        var json = JsonNode.Parse(header)!.AsObject();
        edit(json, data.LongLength);
        return Join(Encoding.UTF8.GetBytes(json.ToJsonString()), data);
    }

    private static void SetOffsets(JsonObject h, string name, long begin, long end) => h[name]!["data_offsets"] = new JsonArray(begin, end);

    private static long Begin(JsonObject h, string name) => h[name]!["data_offsets"]![0]!.GetValue<long>();

    private static long End(JsonObject h, string name) => h[name]!["data_offsets"]![1]!.GetValue<long>();

    // Each damage and words its message must hold (besides the file's path).
    private static IEnumerable<TestCaseData> Damages()
    {
        yield return new TestCaseData("truncated", new[] { "outside" }).SetName("SafeTensorsTruncated");
        yield return new TestCaseData("header-length-past-end", new[] { "header length", "exceeds" }).SetName("SafeTensorsHeaderLengthPastTheEnd");
        yield return new TestCaseData("invalid-json", new[] { "not valid JSON" }).SetName("SafeTensorsInvalidJson");
        yield return new TestCaseData("unknown-dtype", new[] { "wpe.weight", "unknown dtype 'F31'" }).SetName("SafeTensorsUnknownDType");
        yield return new TestCaseData("offsets-out-of-range", new[] { "wpe.weight", "outside" }).SetName("SafeTensorsOffsetsOutOfRange");
        yield return new TestCaseData("offsets-overlap", new[] { "tensor 'h.0.ln_1.weight'", "overlap tensor 'h.0.ln_1.bias'" }).SetName("SafeTensorsOffsetsOverlap");
        yield return new TestCaseData("offsets-gap", new[] { "gap" }).SetName("SafeTensorsOffsetsLeaveAGap");
        yield return new TestCaseData("shape-vs-config", new[] { "wpe.weight", "[32, 128]", "config.json implies [64, 64]" }).SetName("SafeTensorsShapeDisagreesWithConfig");
        yield return new TestCaseData("config-vs-shapes", new[] { "config.json implies" }).SetName("ConfigDisagreesWithSafeTensorsShapes");
    }

    private static void Damage(string dir, string how)
    {
        string path = Path.Combine(dir, Checkpoint.ModelFile);
        var file = File.ReadAllBytes(path);
        byte[] damaged = how switch
        {
            "truncated" => file[..(file.Length * 2 / 3)],
            "header-length-past-end" => LengthPastEnd(file),
            "invalid-json" => InvalidJson(file),
            "unknown-dtype" => EditHeader(file, (h, _) => h["wpe.weight"]!["dtype"] = "F31"),
            "offsets-out-of-range" => EditHeader(file, (h, n) => SetOffsets(h, "wpe.weight", n, n + End(h, "wpe.weight") - Begin(h, "wpe.weight"))),
            // The weight (same size) moved onto the bias, just before it: the first thing wrong in
            // offset order is the overlap (the weight's own bytes become a gap after it).
            "offsets-overlap" => EditHeader(file, (h, _) => SetOffsets(h, "h.0.ln_1.weight", Begin(h, "h.0.ln_1.bias"), End(h, "h.0.ln_1.bias"))),
            "offsets-gap" => EditHeader(file, (h, _) => h.Remove("ln_f.bias")),
            "shape-vs-config" => EditHeader(file, (h, _) => h["wpe.weight"]!["shape"] = new JsonArray(32, 128)),
            "config-vs-shapes" => file,
            _ => throw new ArgumentException(how),
        };
        File.WriteAllBytes(path, damaged);
        if (how == "config-vs-shapes")
        {
            string config = Path.Combine(dir, Checkpoint.ConfigFile);
            var json = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
            json["n_embd"] = 128; // still divisible by n_head: a valid config for other weights
            File.WriteAllText(config, json.ToJsonString());
        }
    }

    private static byte[] LengthPastEnd(byte[] file)
    {
        var copy = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy, (ulong)file.Length);
        return copy;
    }

    private static byte[] InvalidJson(byte[] file)
    {
        var copy = (byte[])file.Clone();
        copy[8] = (byte)'['; // the header's opening brace
        return copy;
    }

    [TestCaseSource(nameof(Damages))]
    public void DamagedCheckpointIsRefusedAndLeftAsItWas(string how, string[] problem)
    {
        string dir = CopyOfCheckpoint();
        Damage(dir, how);
        var before = FolderSnapshot.Take(dir);
        string file = Path.Combine(dir, Checkpoint.ModelFile), bin = Path.Combine(Dir, "out.bin");

        CliRunner.RunExpectingUserError(Eval(dir, Text), [file, .. problem]);
        // Resuming must fail before it trims the log or saves over the damaged files.
        CliRunner.RunExpectingUserError(Resume(dir), [file, .. problem]);
        CliRunner.RunExpectingUserError(["convert", "--in", dir, "--out", bin], [file, .. problem]);
        Assert.That(File.Exists(bin), Is.False);
        Assert.That(FolderSnapshot.Take(dir), Is.EqualTo(before), "the checkpoint folder is unchanged");
    }

    [Test]
    public void TheUndamagedTemplateWorks()
    {
        // The damage tests fail because of the damage: the same commands succeed on a clean copy.
        string dir = CopyOfCheckpoint();
        Assert.That(CliRunner.Run(Eval(dir, Text)).Code, Is.Zero);
        Assert.That(CliRunner.Run(["convert", "--in", dir, "--out", Path.Combine(Dir, "ok.bin")]).Code, Is.Zero);
        Assert.That(CliRunner.Run(Resume(dir)).Code, Is.Zero);
    }

    // --- checkpoints: llm.c ---

    [TestCase(0, 20240327, "bad magic 20240327")]
    [TestCase(1, 4, "version 4")]
    public void LlmcFileWithWrongHeader(int field, int value, string problem)
    {
        string good = Path.Combine(Dir, "good.bin"), bad = Path.Combine(Dir, "bad.bin");
        Assert.That(CliRunner.Run("convert", "--in", TemplateDir, "--out", good).Code, Is.Zero);
        var bytes = File.ReadAllBytes(good);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * field), value);
        File.WriteAllBytes(bad, bytes);

        // Into an existing .bin: it must survive; into a new folder: none appears.
        string existing = Path.Combine(Dir, "existing.bin"), folder = Path.Combine(Dir, "folder");
        File.WriteAllBytes(existing, [1, 2, 3]);
        CliRunner.RunExpectingUserError(["convert", "--in", bad, "--out", existing], bad, problem);
        Assert.That(File.ReadAllBytes(existing), Is.EqualTo(new byte[] { 1, 2, 3 }));
        CliRunner.RunExpectingUserError(["convert", "--in", bad, "--out", folder], bad, problem);
        Assert.That(Directory.Exists(folder), Is.False);
    }

    // --- configs ---

    [Test]
    public void ConfigWithNEmbdNotDivisibleByNHead()
    {
        string config = WriteFile("config.json", """{"model_type": "gpt2", "n_embd": 64, "n_head": 3, "n_layer": 2, "n_positions": 64, "vocab_size": 256}""");
        string run = Path.Combine(Dir, "run");
        CliRunner.RunExpectingUserError(["train", "--model", config, "--data", Text, "--out", run, "--steps", "2"], config, "n_embd (64) must be divisible by n_head (3)");
        Assert.That(Directory.Exists(run), Is.False);

        // The same in a checkpoint folder: refused by eval and by resume, and left as it was.
        string dir = CopyOfCheckpoint();
        string inFolder = Path.Combine(dir, Checkpoint.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(inFolder))!.AsObject();
        json["n_head"] = 3;
        File.WriteAllText(inFolder, json.ToJsonString());
        var before = FolderSnapshot.Take(dir);
        CliRunner.RunExpectingUserError(Eval(dir, Text), inFolder, "divisible");
        CliRunner.RunExpectingUserError(Resume(dir), inFolder, "divisible");
        Assert.That(FolderSnapshot.Take(dir), Is.EqualTo(before));
    }

    // --- runs ---

    [Test]
    public void ResumeWithNothingToResume()
    {
        string empty = Path.Combine(Dir, "empty"), missing = Path.Combine(Dir, "missing");
        Directory.CreateDirectory(empty);
        CliRunner.RunExpectingUserError(Resume(empty), empty, "nothing to resume");
        Assert.That(Directory.EnumerateFileSystemEntries(empty), Is.Empty, "no log or checkpoint appears");
        CliRunner.RunExpectingUserError(Resume(missing), missing, "nothing to resume");
        Assert.That(Directory.Exists(missing), Is.False);
    }

    [Test]
    public void NewRunIntoAFolderThatHoldsACheckpoint()
    {
        string dir = CopyOfCheckpoint();
        var before = FolderSnapshot.Take(dir);
        CliRunner.RunExpectingUserError(Train(Text, dir), dir, "already holds a checkpoint", "--resume");
        Assert.That(FolderSnapshot.Take(dir), Is.EqualTo(before), "the earlier run's checkpoint, log and plot are unchanged");
    }
}
