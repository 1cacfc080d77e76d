using Hyper.Runtime;
using Hyper.Runtime.Training;
using Hyper.Tests.Support;

namespace Hyper.Tests.Training;

/// <summary>The run-folder rules every trainer goes through (<see cref="RunFolder"/>).</summary>
public class RunFolderTests : TempDirTest
{
    [Test]
    public void TrimmingKeepsTheAcceptedLinesAndDropsALineCutByACrash()
    {
        string log = Path.Combine(Dir, "log.jsonl");
        File.WriteAllText(log, "{\"step\":0,\"val_loss\":5.5}\n{\"step\":1,\"loss\":5.4}\n\n{\"step\":2,\"loss\":5.3}\n{\"step\":3,\"lo");
        var kept = RunFolder.TrimLog(log, l => RunFolder.Int(l, "step") is <= 1);
        Assert.That(kept.Select(l => RunFolder.Int(l, "step")), Is.EqualTo(new int?[] { 0, 1 }));
        Assert.That(File.ReadAllText(log), Is.EqualTo("{\"step\":0,\"val_loss\":5.5}\n{\"step\":1,\"loss\":5.4}\n"));
        Assert.That(RunFolder.ReadLog(Path.Combine(Dir, "missing.jsonl")), Is.Empty);
    }

    [Test]
    public void IntFieldsAreReadOnlyWhenTheyAreIntegers()
    {
        var line = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse("{\"step\":4,\"epoch\":1.5,\"loss\":\"x\"}")!;
        Assert.That((RunFolder.Int(line, "step"), RunFolder.Int(line, "epoch"), RunFolder.Int(line, "loss"), RunFolder.Int(line, "none")),
            Is.EqualTo(((int?)4, (int?)null, (int?)null, (int?)null)));
    }

    [Test]
    public void TheEtaUsesThisProcesssRate()
    {
        // 10 units done in 20 s: 2 s a unit, so 30 left take 60 s; nothing done yet says nothing.
        Assert.That(RunFolder.Eta(30, 10, TimeSpan.FromSeconds(20)), Is.EqualTo(TimeSpan.FromSeconds(60)));
        Assert.That(RunFolder.Eta(30, 0, TimeSpan.FromSeconds(20)), Is.EqualTo(TimeSpan.Zero));
        Assert.That(RunFolder.Eta(-1, 10, TimeSpan.FromSeconds(20)), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void ANewRunNeverOverwritesASavedOneAndResumeNeedsOne()
    {
        // Settings are named as the runtime knows them; the CLI spells them as flags (Flags.Describe).
        var overwrite = Assert.Throws<SettingException>(() => RunFolder.CheckStart("D", resume: false, holdsRun: true, "checkpoint"));
        Assert.That((overwrite!.Setting, overwrite.Problem, overwrite.Remedy), Is.EqualTo(("OutDir", "D already holds a checkpoint", ("Resume", "to continue it, or choose another folder"))));
        Assert.That(Hyper.Cli.Flags.Describe(overwrite), Is.EqualTo("--out D already holds a checkpoint; pass --resume to continue it, or choose another folder"));
        var none = Assert.Throws<SettingException>(() => RunFolder.CheckStart("D", resume: true, holdsRun: false, "hypernetwork"));
        Assert.That(none!.Message, Is.EqualTo("Resume: D holds no hypernetwork: nothing to resume"));
        Assert.That(Hyper.Cli.Flags.Describe(none), Is.EqualTo("--resume D holds no hypernetwork: nothing to resume"));
        Assert.DoesNotThrow(() => RunFolder.CheckStart("D", resume: true, holdsRun: true, "checkpoint"));
        Assert.DoesNotThrow(() => RunFolder.CheckStart("D", resume: false, holdsRun: false, "checkpoint"));
    }
}
