namespace Hyper.Runtime.Backends;

/// <summary>The backends this build knows, by command-line name.</summary>
public static class BackendRegistry
{
    /// <summary>Names accepted by --device / --backend.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu", "reference"];

    /// <summary>Creates a backend by name, with a clear error for an unknown one.</summary>
    public static IBackend Create(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => new CpuBackend(),
        "reference" => new ReferenceBackend(),
        _ => throw new ArgumentException($"unknown backend '{name}' (known: {string.Join(", ", Names)})"),
    };
}
