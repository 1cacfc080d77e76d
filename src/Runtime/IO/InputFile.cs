namespace Hyper.Runtime.IO;

/// <summary>Checks a path that names an input file, so a folder or a typo is reported as what it is.</summary>
public static class InputFile
{
    /// <summary>
    /// Throws <see cref="FileNotFoundException"/> when nothing is at <paramref name="path"/>, and
    /// <see cref="IOException"/> when a folder is: "--data corpus/ is a folder, not a file" (with what = "--data").
    /// <paramref name="what"/> names the path in the message (a flag, or "corpus"); null: the message starts with the path.
    /// </summary>
    public static void Require(string path, string? what)
    {
        if (File.Exists(path)) return;
        string named = what is null ? path : $"{what} {path}";
        if (Directory.Exists(path)) throw new IOException($"{named} is a folder, not a file");
        throw new FileNotFoundException($"{named}: no such file", path);
    }
}
