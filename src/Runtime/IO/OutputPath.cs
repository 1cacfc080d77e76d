namespace Hyper.Runtime.IO;

/// <summary>
/// Checks where a command will write before it does any work: a run that tokenizes and trains for
/// an hour must not then fail because its output folder is a file.
/// </summary>
public static class OutputPath
{
    /// <summary>
    /// <paramref name="path"/> names an output folder: it must not be a file, and the folder above
    /// it that exists must be a folder one can write in. <paramref name="flag"/> names it in messages (null: they start with the path).
    /// </summary>
    public static void RequireFolder(string path, string? flag)
    {
        if (File.Exists(path)) throw new IOException($"{(flag is null ? path : $"{flag} {path}")} is a file; it must name a folder to write into");
        RequireWritableParent(path, flag);
    }

    /// <summary><paramref name="path"/> names an output file: it must not be a folder, and its folder must be writable.</summary>
    public static void RequireFile(string path, string? flag)
    {
        if (Directory.Exists(path)) throw new IOException($"{(flag is null ? path : $"{flag} {path}")} is a folder; it must name a file to write");
        RequireWritableParent(path, flag);
    }

    // The nearest existing ancestor decides: a file there means the path can never be created, and a
    // folder there must accept a new entry (tried with an empty file, removed at once).
    private static void RequireWritableParent(string path, string? flag)
    {
        string named = flag is null ? path : $"{flag} {path}";
        string full = Path.GetFullPath(path);
        string? dir = Directory.Exists(full) ? full : Path.GetDirectoryName(full);
        while (dir is not null && !Directory.Exists(dir))
        {
            if (File.Exists(dir)) throw new IOException($"{named}: {dir} is a file, not a folder");
            dir = Path.GetDirectoryName(dir);
        }
        if (dir is null) return;
        string probe = Path.Combine(dir, $".hyper-write-probe-{Environment.ProcessId}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (UnauthorizedAccessException) { throw new UnauthorizedAccessException($"{named}: no permission to write in {dir}"); }
        catch (IOException e) { throw new IOException($"{named}: cannot write in {dir} ({e.Message})"); }
    }
}
