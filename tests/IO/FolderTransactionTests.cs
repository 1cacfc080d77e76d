using System.Diagnostics;
using Hyper.Runtime.IO;
using Hyper.Tests.Data;

namespace Hyper.Tests.IO;

/// <summary>
/// The save protocol's states, one by one: a staged set that never committed changes nothing, a
/// committed one is finished by whoever opens the folder next, and a save still in progress in a
/// live process is left alone by readers. (KillResumeTests kills real saves at random moments.)
/// </summary>
public class FolderTransactionTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Read(string name) => File.ReadAllText(Path.Combine(_dir, name));

    private string[] Pending() => Directory.GetDirectories(_dir, FolderTransaction.PendingPrefix + "*");

    private void SaveOld()
    {
        using var tx = FolderTransaction.Begin(_dir);
        File.WriteAllText(tx.PathOf("a.txt"), "old a");
        File.WriteAllText(tx.PathOf("b.txt"), "old b");
        File.WriteAllText(tx.PathOf("stale.txt"), "old stale");
        tx.Commit();
    }

    [Test]
    public void CommitReplacesEveryFileRemovesWhatWasAskedAndLeavesOtherFilesAlone()
    {
        SaveOld();
        File.WriteAllText(Path.Combine(_dir, "log.jsonl"), "not part of a save");
        using (var tx = FolderTransaction.Begin(_dir))
        {
            File.WriteAllText(tx.PathOf("a.txt"), "new a");
            File.WriteAllText(tx.PathOf("b.txt"), "new b");
            tx.Remove("stale.txt");
            tx.Commit();
        }
        Assert.That((Read("a.txt"), Read("b.txt"), Read("log.jsonl")), Is.EqualTo(("new a", "new b", "not part of a save")));
        Assert.That(File.Exists(Path.Combine(_dir, "stale.txt")), Is.False);
        Assert.That(Pending(), Is.Empty);
    }

    [Test]
    public void ASaveThatNeverCommitsChangesNothing()
    {
        SaveOld();
        using (var tx = FolderTransaction.Begin(_dir))
        {
            File.WriteAllText(tx.PathOf("a.txt"), "new a");
            tx.Remove("b.txt");
            // an exception here, before Commit: Dispose discards the staged files
        }
        Assert.That((Read("a.txt"), Read("b.txt")), Is.EqualTo(("old a", "old b")));
        Assert.That(Pending(), Is.Empty);
    }

    [Test]
    public void AStagedSetOfADeadProcessIsDiscardedAndACommittedOneIsFinished()
    {
        SaveOld();
        int dead = DeadPid();
        // What a kill before the commit leaves: staged files, no commit record.
        string uncommitted = Path.Combine(_dir, FolderTransaction.PendingPrefix + dead);
        Directory.CreateDirectory(uncommitted);
        File.WriteAllText(Path.Combine(uncommitted, "a.txt"), "torn");
        Assert.That(FolderTransaction.Recover(_dir), Is.True);
        Assert.That(Read("a.txt"), Is.EqualTo("old a"));
        Assert.That(Pending(), Is.Empty);

        // What a kill after the commit, halfway through moving the files in, leaves: a.txt moved, b.txt not.
        string committed = Path.Combine(_dir, FolderTransaction.PendingPrefix + dead);
        Directory.CreateDirectory(committed);
        File.WriteAllText(Path.Combine(_dir, "a.txt"), "new a");
        File.WriteAllText(Path.Combine(committed, "b.txt"), "new b");
        File.WriteAllText(Path.Combine(committed, FolderTransaction.CommitFile), """{"Files": ["a.txt", "b.txt"], "Removals": ["stale.txt"]}""");
        Assert.That(FolderTransaction.Recover(_dir), Is.True);
        Assert.That((Read("a.txt"), Read("b.txt")), Is.EqualTo(("new a", "new b")));
        Assert.That(File.Exists(Path.Combine(_dir, "stale.txt")), Is.False);
        Assert.That(Pending(), Is.Empty);
        Assert.That(FolderTransaction.Recover(_dir), Is.False, "nothing left to do");
    }

    [Test]
    public void AReaderLeavesASaveInProgressInALiveProcessAlone()
    {
        SaveOld();
        using var live = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            string staging = Path.Combine(_dir, FolderTransaction.PendingPrefix + live.Id);
            Directory.CreateDirectory(staging);
            File.WriteAllText(Path.Combine(staging, "a.txt"), "half written");
            Assert.That(FolderTransaction.Recover(_dir), Is.False);
            Assert.That(Directory.Exists(staging), Is.True, "the live process's staged files stay");
            Assert.That(Read("a.txt"), Is.EqualTo("old a"));
        }
        finally { live.Kill(); }
    }

    [Test]
    public void ACommitRecordThatIsNotOneIsAnErrorNamingIt()
    {
        string staging = Path.Combine(_dir, FolderTransaction.PendingPrefix + DeadPid());
        Directory.CreateDirectory(staging);
        foreach (string record in new[] { "{\"Files\": [\"a.txt\"]", """{"Files": ["../escape"], "Removals": []}""", """{"Files": ["a.txt"]}""" })
        {
            File.WriteAllText(Path.Combine(staging, FolderTransaction.CommitFile), record);
            var e = Assert.Throws<InvalidDataException>(() => FolderTransaction.Recover(_dir))!;
            Assert.That(e.Message, Does.Contain(FolderTransaction.CommitFile), record);
        }
    }

    [Test]
    public void OnlyPlainFileNamesCanBeStaged()
    {
        using var tx = FolderTransaction.Begin(_dir);
        Assert.Throws<ArgumentException>(() => tx.PathOf("../outside.txt"));
        Assert.Throws<ArgumentException>(() => tx.PathOf(FolderTransaction.CommitFile));
        Assert.Throws<ArgumentException>(() => tx.Remove(""));
    }

    /// <summary>The pid of a process that has exited.</summary>
    private static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }
}
