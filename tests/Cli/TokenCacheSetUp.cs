using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>Gives the CLI tests a scratch token cache.</summary>
[SetUpFixture]
public sealed class TokenCacheSetUp
{
    private TempTokenCache? _cache;

    /// <summary>Before the namespace's first test.</summary>
    [OneTimeSetUp]
    public void SetUp() => _cache = new TempTokenCache();

    /// <summary>After its last.</summary>
    [OneTimeTearDown]
    public void TearDown() => _cache?.Dispose();
}
