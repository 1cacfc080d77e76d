using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Hyper.Runtime.IO;

/// <summary>
/// Replaces a set of files in a folder all together or not at all, and leaves the folder's real
/// files where every reader expects them (a checkpoint stays a plain Hugging Face folder).
/// <para>
/// A save writes its files into a fresh staging folder inside the target,
/// <c>.hyper-pending-{pid}/</c>, syncs them, then writes the commit record <c>COMMIT</c> there
/// (written aside and renamed: the one atomic step that decides the outcome). Only then are the
/// files renamed into the folder, one by one, and the staging folder removed. A process killed
/// before the commit record exists leaves the previous files untouched (the staging folder is
/// discarded later); one killed after it leaves a committed set that <see cref="Recover"/> finishes
/// moving. Every reader of a checkpoint calls <see cref="Recover"/> first, so it always sees one
/// complete save: the last one that committed.
/// </para>
/// <para>
/// This is a redo journal (as in a database's write-ahead log) rather than a swap of whole
/// folders, because the folder also holds files that are not part of a save (the run's log and
/// plot, a user's tokenizer files) and is often the user's own directory.
/// </para>
/// </summary>
public sealed class FolderTransaction : IDisposable
{
    /// <summary>Prefix of the staging folders inside a target folder.</summary>
    public const string PendingPrefix = ".hyper-pending-";

    /// <summary>The commit record inside a staging folder.</summary>
    public const string CommitFile = "COMMIT";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly List<string> _files = [];
    private readonly List<string> _removals = [];
    private bool _committed;

    /// <summary>The folder being written.</summary>
    public string Folder { get; }

    /// <summary>The staging folder this transaction writes into.</summary>
    public string Staging { get; }

    private FolderTransaction(string folder, string staging)
    {
        Folder = folder;
        Staging = staging;
    }

    /// <summary>The record that makes a staged set of files the folder's new contents.</summary>
    private sealed record CommitRecord(List<string> Files, List<string> Removals);

    /// <summary>
    /// Starts replacing files in <paramref name="folder"/> (created when missing), first finishing
    /// or discarding whatever an earlier, interrupted save left behind.
    /// </summary>
    public static FolderTransaction Begin(string folder)
    {
        Directory.CreateDirectory(folder);
        Recover(folder);
        string staging = Path.Combine(folder, PendingPrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        return new FolderTransaction(folder, staging);
    }

    /// <summary>
    /// Where to write the new <paramref name="name"/> (a plain file name, no folders); the file
    /// joins the set that replaces the folder's files on <see cref="Commit"/>.
    /// </summary>
    public string PathOf(string name)
    {
        CheckName(name);
        if (!_files.Contains(name)) _files.Add(name);
        return Path.Combine(Staging, name);
    }

    /// <summary>Marks <paramref name="name"/> to be deleted from the folder on commit (when it exists).</summary>
    public void Remove(string name)
    {
        CheckName(name);
        if (!_removals.Contains(name)) _removals.Add(name);
    }

    /// <summary>
    /// Makes the staged files the folder's contents: syncs them, writes the commit record (from
    /// here on the save survives a kill), then moves them in, in the order they were named.
    /// </summary>
    public void Commit()
    {
        if (_committed) throw new InvalidOperationException("the transaction is already committed");
        foreach (string name in _files)
            if (!File.Exists(Path.Combine(Staging, name)))
                throw new InvalidOperationException($"{name} was named for the save but never written");
        SyncDirectory(Staging);
        string record = JsonSerializer.Serialize(new CommitRecord(_files, _removals.Except(_files).ToList()), Json);
        AtomicFile.WriteAllText(Path.Combine(Staging, CommitFile), record);
        SyncDirectory(Staging);
        _committed = true;
        FaultInjection.Pause("committed");
        Apply(Folder, Staging);
    }

    /// <summary>Discards the staged files unless the transaction committed.</summary>
    public void Dispose()
    {
        if (_committed) return;
        try { if (Directory.Exists(Staging)) Directory.Delete(Staging, recursive: true); }
        catch (IOException) { } // left for the next Recover
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Finishes a committed save that was interrupted while its files were moved in, and removes
    /// staging folders of saves that never committed (unless their process is still running: a
    /// reader must not discard a save in progress). Returns true when the folder was changed.
    /// </summary>
    /// <exception cref="InvalidDataException">A committed save needs finishing but the folder cannot be written.</exception>
    public static bool Recover(string folder)
    {
        if (!Directory.Exists(folder)) return false;
        bool changed = false;
        foreach (string staging in Directory.GetDirectories(folder, PendingPrefix + "*"))
        {
            if (File.Exists(Path.Combine(staging, CommitFile)))
            {
                try { Apply(folder, staging); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new InvalidDataException($"{folder}: an interrupted save committed but could not be finished ({e.Message}); " +
                                                   "make the folder writable and run any hyper command on it again");
                }
                changed = true;
            }
            else if (!IsRunning(staging))
            {
                try { Directory.Delete(staging, recursive: true); changed = true; }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // harmless: the folder's files are the last complete save
            }
        }
        return changed;
    }

    /// <summary>Moves a committed set of files into place; safe to repeat after a kill at any point in it.</summary>
    private static void Apply(string folder, string staging)
    {
        string commitPath = Path.Combine(staging, CommitFile);
        CommitRecord record;
        try { record = JsonSerializer.Deserialize<CommitRecord>(File.ReadAllText(commitPath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{commitPath}: not a commit record ({e.Message})"); }
        if (record.Files is null || record.Removals is null || record.Files.Concat(record.Removals).Any(n => !IsPlainName(n)))
            throw new InvalidDataException($"{commitPath}: not a commit record (a file list is missing or names something outside the folder)");
        foreach (string name in record.Files)
        {
            string from = Path.Combine(staging, name);
            // A file already moved by an earlier, interrupted Apply is no longer staged.
            if (File.Exists(from)) File.Move(from, Path.Combine(folder, name), overwrite: true);
            FaultInjection.Pause("moved " + name);
        }
        foreach (string name in record.Removals) File.Delete(Path.Combine(folder, name));
        SyncDirectory(folder);
        File.Delete(commitPath);
        Directory.Delete(staging, recursive: true);
    }

    private static void CheckName(string name)
    {
        if (!IsPlainName(name)) throw new ArgumentException($"'{name}' is not a plain file name for a checkpoint folder");
    }

    private static bool IsPlainName(string? name) =>
        !string.IsNullOrEmpty(name) && name == Path.GetFileName(name) && name is not ("." or ".." or CommitFile);

    /// <summary>Whether the process that owns a staging folder (its name ends in the pid) is alive.</summary>
    private static bool IsRunning(string staging)
    {
        string suffix = Path.GetFileName(staging)[PendingPrefix.Length..];
        if (!int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) return false;
        if (pid == Environment.ProcessId) return false; // ours, from a save that failed in this process
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>
    /// fsync of a directory, so the renames in it reach the disk before what depends on them (a
    /// power cut, not a kill, needs this). .NET has no API for it; on Windows renames are
    /// journaled by NTFS and this does nothing.
    /// </summary>
    private static void SyncDirectory(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = open(dir, 0 /* O_RDONLY */);
        if (fd < 0) return; // best effort: durability against power loss only
        try { fsync(fd); }
        finally { close(fd); }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc")]
    private static extern int close(int fd);
}

/// <summary>
/// Test hook: with HYPER_SAVE_PAUSE_MS set, a save sleeps that long at each of its stages, so a
/// test that kills the process at random moments lands inside saves often. Unset, it costs one
/// cached check.
/// </summary>
public static class FaultInjection
{
    private static readonly int PauseMs =
        int.TryParse(Environment.GetEnvironmentVariable("HYPER_SAVE_PAUSE_MS"), NumberStyles.None, CultureInfo.InvariantCulture, out int ms) ? ms : 0;

    /// <summary>Sleeps at a named stage of a save when the hook is on.</summary>
    public static void Pause(string stage)
    {
        if (PauseMs > 0) Thread.Sleep(PauseMs);
    }
}
