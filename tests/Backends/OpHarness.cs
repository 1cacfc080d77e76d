using Hyper.Runtime.Backends;

namespace Hyper.Tests.Backends;

/// <summary>
/// Places an op's tensors on one backend and reads them back. Every tensor gets its own buffer
/// and sits at an odd offset inside it, between guard floats: so every op runs on views at
/// nonzero, unaligned offsets, and a write outside a view is caught by <see cref="CheckGuards"/>.
/// </summary>
public sealed class OpHarness(IBackend backend) : IDisposable
{
    /// <summary>Guard floats before and after each tensor (odd, so no view is vector-aligned).</summary>
    private const int Pad = 3;

    /// <summary>A value no op computes from the seeded inputs.</summary>
    private const float Guard = -7777.25f;

    private readonly List<DeviceBuffer> _buffers = [];

    /// <summary>The backend the tensors live on.</summary>
    public IBackend Backend => backend;

    /// <summary>Uploads <paramref name="data"/> into a fresh buffer, between guards, and returns its view.</summary>
    public TensorView Put(float[] data)
    {
        var host = new float[data.Length + 2 * Pad];
        Array.Fill(host, Guard);
        data.CopyTo(host, Pad);
        DeviceBuffer buffer = backend.Allocate(host.Length);
        _buffers.Add(buffer);
        backend.Upload(host, buffer.All);
        return buffer.Slice(Pad, data.Length);
    }

    /// <summary>The floats of a view.</summary>
    public float[] Read(TensorView view)
    {
        var host = new float[view.Length];
        backend.Download(view, host);
        return host;
    }

    /// <summary>Fails the test if anything wrote outside the views <see cref="Put"/> returned.</summary>
    public void CheckGuards()
    {
        foreach (DeviceBuffer buffer in _buffers)
        {
            float[] all = Read(buffer.All);
            for (int i = 0; i < Pad; i++)
            {
                Assert.That(all[i], Is.EqualTo(Guard), $"{backend.Name}: write before a view (guard {i})");
                Assert.That(all[^(i + 1)], Is.EqualTo(Guard), $"{backend.Name}: write after a view (guard {i})");
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (DeviceBuffer buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }
}
