using Hyper.Runtime.Backends;

namespace Hyper.Tests.Backends;

/// <summary>
/// Registered backends for a fixture, each created once on first use (device contexts and program
/// builds are costly) and disposed together; one this machine cannot create ignores the test with the reason.
/// </summary>
internal sealed class BackendCache : IDisposable
{
    private readonly Dictionary<string, (IBackend? Backend, string Reason)> _backends = [];

    /// <summary>The backend named, or an ignored test with the reason it cannot be created here.</summary>
    public IBackend Get(string name)
    {
        if (!_backends.TryGetValue(name, out var entry))
        {
            BackendRegistry.TryCreate(name, out IBackend? backend, out string reason);
            _backends[name] = entry = (backend, reason);
        }
        if (entry.Backend is null) Assert.Ignore($"{name} is not available here: {entry.Reason}");
        return entry.Backend!;
    }

    /// <summary>Disposes every backend created.</summary>
    public void Dispose()
    {
        foreach (var (backend, _) in _backends.Values) backend?.Dispose();
        _backends.Clear();
    }
}
