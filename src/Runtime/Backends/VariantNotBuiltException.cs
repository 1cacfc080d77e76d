namespace Hyper.Runtime.Backends;

/// <summary>
/// The kernel variant asked for was left out of the native library's build (libhypercuda built
/// without its optional tensor-core kernels); nothing was launched, and the backend is fine.
/// </summary>
public sealed class VariantNotBuiltException(string message) : NotSupportedException(message);
