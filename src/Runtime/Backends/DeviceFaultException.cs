namespace Hyper.Runtime.Backends;

/// <summary>
/// A device reported an error while running or waiting for an op (a failed launch, an illegal
/// address, a failed synchronise). CUDA errors of this kind are sticky: the context is unusable
/// afterwards and every later call on it fails or returns garbage, so a caller that goes on (the
/// kernel lab) must not trust anything it does on that backend after this.
/// </summary>
public sealed class DeviceFaultException(string message) : InvalidOperationException(message);
