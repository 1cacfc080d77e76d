using System.Security.Cryptography;

namespace Hyper.Tests.Support;

/// <summary>Every file under a folder with a hash of its bytes, to show that a failed command wrote nothing.</summary>
internal static class FolderSnapshot
{
    /// <summary>Relative path → SHA-256 of the contents, for every file under <paramref name="dir"/> (empty when it does not exist).</summary>
    public static SortedDictionary<string, string> Take(string dir)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(dir)) return result;
        foreach (string file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(dir, file)] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        return result;
    }
}
