using Hyper.Runtime.Plotting;

namespace Hyper.Tests.Plotting;

/// <summary>The PNG writer and its CRC, checked against the independent test decoder.</summary>
public class PngEncoderTests
{
    [Test]
    public void Crc32_MatchesTheStandardCheckValue()
    {
        byte[] check = "123456789"u8.ToArray();
        Assert.That(Crc32.Compute(check), Is.EqualTo(0xCBF43926u));
        Assert.That(Crc32.Append(Crc32.Compute(check.AsSpan(0, 4)), check.AsSpan(4)), Is.EqualTo(0xCBF43926u), "chained");
        Assert.That(PngTestDecoder.BitwiseCrc(check), Is.EqualTo(0xCBF43926u), "test decoder's CRC");
    }

    // Noise, flat runs and gradients make the encoder pick each of the five filters somewhere;
    // odd sizes check the row and pixel edges.
    [TestCase(1, 1)]
    [TestCase(7, 5)]
    [TestCase(33, 17)]
    [TestCase(200, 3)]
    public void Encode_RoundTripsEveryPixel(int width, int height)
    {
        var image = new Raster(width, height);
        var rng = new Random(width * 31 + height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var c = ((x + y) % 3) switch
                {
                    0 => new Rgba((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)),
                    1 => new Rgba((byte)(x * 7), (byte)(y * 5), (byte)(x + y)),
                    _ => new Rgba(200, 200, 200),
                };
                image.Blend(x, y, c);
            }
        }

        var decoded = PngTestDecoder.Decode(PngEncoder.Encode(image));

        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((width, height)));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                Rgba e = image[x, y];
                Assert.That(decoded.At(x, y), Is.EqualTo((e.R, e.G, e.B)), $"pixel ({x}, {y})");
            }
    }
}
