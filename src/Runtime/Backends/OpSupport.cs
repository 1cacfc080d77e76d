namespace Hyper.Runtime.Backends;

/// <summary>How a backend runs an op (what `hyper info` prints).</summary>
public enum OpSupport
{
    /// <summary>The backend has its own kernel for the op.</summary>
    Native,
    /// <summary>No kernel of its own: <see cref="IBackend"/>'s default runs the reference kernel on a host copy (correct, slow).</summary>
    Reference,
    /// <summary>The backend cannot run the op at all.</summary>
    None,
}
