namespace Hyper.Runtime.Backends;

/// <summary>
/// What an op's default implementation in <see cref="IBackend"/> uses to run the reference
/// kernel on any backend: views copied to host arrays, the kernel, the outputs copied back.
/// Correct everywhere and fast nowhere; a backend with a native kernel overrides the op (and says
/// so through <see cref="IBackend.Supports"/>).
/// </summary>
internal readonly struct HostCopy(IBackend backend)
{
    /// <summary>The view's floats (an input, or an output the kernel accumulates into).</summary>
    public float[] In(TensorView view)
    {
        var host = new float[view.Length];
        if (view.Length > 0) backend.Download(view, host);
        return host;
    }

    /// <summary>A host array for an output the kernel overwrites (nothing is downloaded).</summary>
    public static float[] Out(TensorView view) => new float[view.Length];

    /// <summary>Writes a host array back into its view.</summary>
    public void Back(float[] host, TensorView view)
    {
        if (view.Length > 0) backend.Upload(host, view);
    }
}
