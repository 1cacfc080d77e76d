namespace Hyper.Tests.Data;

/// <summary>Locates the shared corpora (shared/data beside or above the checkout) and makes scratch folders.</summary>
public static class Corpora
{
    /// <summary>
    /// Full path of a corpus: the repository's bundled data/ first (Moby-Dick ships with the
    /// repo), then shared/data beside or above the checkout; ignores the test when neither has it.
    /// </summary>
    public static string Require(string name)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[] { Path.Combine(dir.FullName, "data", name), Path.Combine(dir.FullName, "shared", "data", name) })
                if (File.Exists(candidate)) return candidate;
        }
        Assert.Ignore($"corpus data/{name} or shared/data/{name} not found above {TestContext.CurrentContext.TestDirectory}");
        return null!; // unreachable: Assert.Ignore throws
    }

    /// <summary>The first <paramref name="count"/> non-empty paragraphs (blank-line separated) of a corpus.</summary>
    public static string[] Paragraphs(string name, int count) =>
        File.ReadAllText(Require(name)).Replace("\r\n", "\n")
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Take(count).ToArray();

    /// <summary>A fresh empty folder under the temp directory; the caller deletes it.</summary>
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hyper-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
