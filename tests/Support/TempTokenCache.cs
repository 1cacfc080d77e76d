using Hyper.Runtime.Data;

namespace Hyper.Tests.Support;

/// <summary>
/// Points <c>HYPER_CACHE</c> at a scratch folder for the test run, so text corpora are
/// tokenized into it and not into the user's ~/.cache (Trainer and the CLI take no cache argument).
/// </summary>
internal sealed class TempTokenCache : IDisposable
{
    private readonly string? _previous = Environment.GetEnvironmentVariable(TokenCorpus.CacheEnvironmentVariable);

    /// <summary>The scratch cache folder.</summary>
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "hyper-test-cache-" + Guid.NewGuid().ToString("N"));

    /// <summary>Creates the folder and sets the variable.</summary>
    public TempTokenCache()
    {
        Directory.CreateDirectory(Dir);
        Environment.SetEnvironmentVariable(TokenCorpus.CacheEnvironmentVariable, Dir);
    }

    /// <summary>Restores the variable and deletes the folder.</summary>
    public void Dispose()
    {
        Environment.SetEnvironmentVariable(TokenCorpus.CacheEnvironmentVariable, _previous);
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}
