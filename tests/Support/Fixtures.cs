namespace Hyper.Tests.Support;

/// <summary>Paths of the files under tests/Fixtures, as copied beside the test assembly.</summary>
internal static class Fixtures
{
    /// <summary>Full path of tests/Fixtures/<paramref name="name"/>.</summary>
    public static string Path(string name) => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);
}
