using Hyper.Tests.Support;

/// <summary>
/// Gives the whole test run a scratch token cache (a set-up fixture outside any namespace
/// applies to the assembly), so no test tokenizes into the user's ~/.cache.
/// </summary>
[SetUpFixture]
public sealed class TokenCacheSetUp
{
    private TempTokenCache? _cache;

    /// <summary>Before the first test.</summary>
    [OneTimeSetUp]
    public void SetUp() => _cache = new TempTokenCache();

    /// <summary>After the last.</summary>
    [OneTimeTearDown]
    public void TearDown() => _cache?.Dispose();
}
