using Hyper.Runtime.Plotting;

namespace Hyper.Tests.Plotting;

/// <summary>PNG line plots: the files decode, lines land where and in the colour they should, odd input is survived.</summary>
public class LinePlotTests
{
    // tab10's first two colours: what series 0 and 1 are drawn in.
    private static readonly (byte R, byte G, byte B) Blue = (0x1f, 0x77, 0xb4), Orange = (0xff, 0x7f, 0x0e);

    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hyper-plot-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static double[] Range(int n, double x0, double dx) => Enumerable.Range(0, n).Select(i => x0 + i * dx).ToArray();

    /// <summary>Pixels of exactly this colour: only fully covered pixels of a line (or a legend swatch) have it.</summary>
    private static List<(int X, int Y)> PixelsOf(PngTestDecoder.Image image, (byte, byte, byte) colour)
    {
        var found = new List<(int, int)>();
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                if (image.At(x, y) == colour) found.Add((x, y));
        return found;
    }

    [TestCase(LinePlot.DefaultWidth, LinePlot.DefaultHeight)]
    [TestCase(640, 400)]
    [TestCase(LinePlot.MinWidth, LinePlot.MinHeight)]
    public void Save_WritesAPngOfTheRequestedSize(int width, int height)
    {
        string path = Path.Combine(_dir, "loss.png");
        var steps = Range(100, 0, 1);
        LinePlot.Save(path, "Training loss", "step", "loss",
            [new Series("train", steps, steps.Select(s => 10 * Math.Exp(-s / 30) + 2).ToArray())],
            width: width, height: height);

        byte[] png = File.ReadAllBytes(path);
        Assert.That(png.AsSpan(0, 8).SequenceEqual(PngTestDecoder.Signature), Is.True);
        Assert.That(PngTestDecoder.ReadSize(png), Is.EqualTo((width, height)));
        Assert.That(PngTestDecoder.Decode(png).Width, Is.EqualTo(width));
    }

    // A rising and a falling diagonal: each must appear in its colour along the whole width, and the
    // rising one must go up the image (y grows downwards in pixels).
    [Test]
    public void Save_DrawsEachSeriesInItsColour_WithYPointingUp()
    {
        string path = Path.Combine(_dir, "diagonals.png");
        var x = Range(50, 0, 1);
        LinePlot.Save(path, "", "", "",
            [new Series("", x, x), new Series("", x, x.Select(v => 49 - v).ToArray())]);

        var image = PngTestDecoder.Decode(File.ReadAllBytes(path));
        var blue = PixelsOf(image, Blue);
        var orange = PixelsOf(image, Orange);

        // A 45° line of width ~1.8 px fully covers at least one pixel in every column it crosses.
        Assert.That(blue.Select(p => p.X).Distinct().Count(), Is.GreaterThan(image.Width * 3 / 4), "blue columns");
        Assert.That(orange.Select(p => p.X).Distinct().Count(), Is.GreaterThan(image.Width * 3 / 4), "orange columns");
        int mid = image.Width / 2;
        Assert.That(blue.Where(p => p.X < mid).Average(p => p.Y), Is.GreaterThan(blue.Where(p => p.X > mid).Average(p => p.Y)), "rising");
        Assert.That(orange.Where(p => p.X < mid).Average(p => p.Y), Is.LessThan(orange.Where(p => p.X > mid).Average(p => p.Y)), "falling");
        // The two lines cross in the middle of the plot.
        Assert.That(blue.Where(p => Math.Abs(p.X - mid) < 40).Select(p => p.Y).Average(),
            Is.EqualTo(orange.Where(p => Math.Abs(p.X - mid) < 40).Select(p => p.Y).Average()).Within(6), "cross near the centre");
    }

    // 10^x on a log axis is a straight line: its middle point (x = 2, y = 100) is half way up.
    [Test]
    public void Save_LogY_SpacesDecadesEvenly_AndSkipsNonPositiveValues()
    {
        string path = Path.Combine(_dir, "log.png");
        var x = Range(401, 0, 0.01);
        var y = x.Select(v => Math.Pow(10, v)).ToArray();
        y[17] = 0;
        y[50] = -3;
        y[90] = double.NaN;
        LinePlot.Save(path, "", "", "", [new Series("", x, y)], logY: true);

        var blue = PixelsOf(PngTestDecoder.Decode(File.ReadAllBytes(path)), Blue);
        int x0 = blue.Min(p => p.X), x1 = blue.Max(p => p.X), y0 = blue.Min(p => p.Y), y1 = blue.Max(p => p.Y);
        var middle = blue.Where(p => Math.Abs(p.X - (x0 + x1) / 2) <= 1).ToList();
        Assert.That(middle, Is.Not.Empty);
        Assert.That(middle.Average(p => p.Y), Is.EqualTo((y0 + y1) / 2.0).Within(3));
    }

    // A dense series sorted by x is cut to four points per pixel column; the same points in reverse
    // order are drawn in full. Both are one polyline, so the pictures must agree; the tolerance
    // allows for anti-aliased edge pixels of slightly different shade, not for missing strokes.
    [Test]
    public void Render_DenseSeries_DecimatedAndFullAgree()
    {
        var rng = new Random(5);
        int n = 40_000;
        var x = Range(n, 0, 1);
        var y = x.Select(v => Math.Exp(-v / 8000) + 0.2 * rng.NextDouble()).ToArray();
        var decimated = LinePlot.Render(new Panel("", "", "", [new Series("", x, y)]), 640, 400);
        var full = LinePlot.Render(new Panel("", "", "", [new Series("", x.Reverse().ToArray(), y.Reverse().ToArray())]), 640, 400);

        int inked = 0, differ = 0;
        for (int py = 0; py < 400; py++)
            for (int px = 0; px < 640; px++)
            {
                Rgba a = decimated[px, py], b = full[px, py];
                if (a != Rgba.White || b != Rgba.White) inked++;
                if (Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B) > 96) differ++;
            }
        Assert.That(differ, Is.LessThan(inked / 100), $"{differ} of {inked} inked pixels differ");
    }

    private static IEnumerable<TestCaseData> OddInputs()
    {
        double nan = double.NaN, inf = double.PositiveInfinity;
        yield return new TestCaseData(false, new[] { new Series("empty", [], []) }).SetName("EmptySeries");
        yield return new TestCaseData(false, Array.Empty<Series>()).SetName("NoSeries");
        yield return new TestCaseData(false, new[] { new Series("nan", [0, 1, 2], [nan, nan, nan]) }).SetName("AllNaN");
        yield return new TestCaseData(false, new[] { new Series("gaps", [0, nan, 2, 3, 4], [1, 2, nan, inf, 3]) }).SetName("NaNAndInfinity");
        yield return new TestCaseData(false, new[] { new Series("one", [5], [0.25]) }).SetName("SinglePoint");
        yield return new TestCaseData(false, new[] { new Series("flat", [0, 1, 2], [3, 3, 3]) }).SetName("Constant");
        yield return new TestCaseData(false, new[] { new Series("zero", [1, 1], [0, 0]) }).SetName("ConstantZero");
        yield return new TestCaseData(false, new[] { new Series("huge", [0, 1], [-1e300, 1e300]) }).SetName("Huge");
        yield return new TestCaseData(false, new[] { new Series("tiny", [0, 1], [1, 1 + 1e-14]) }).SetName("TinySpan");
        yield return new TestCaseData(true, new[] { new Series("neg", [0, 1], [-1, 0]) }).SetName("LogAllNonPositive");
        yield return new TestCaseData(true, new[] { new Series("wide", [0, 1], [1e-30, 1e30]) }).SetName("LogWide");
        yield return new TestCaseData(false, Enumerable.Range(0, 14)
            .Select(i => Series.Indexed(new string('n', i * 5), [i, i + 1, nan, i])).ToArray()).SetName("ManyLongNames");
    }

    [TestCaseSource(nameof(OddInputs))]
    public void Save_SurvivesOddInput(bool logY, Series[] series)
    {
        string path = Path.Combine(_dir, "odd.png");
        LinePlot.Save(path, "odd input \u2212 with non-ASCII \u00b5", "x", "y", series, logY);
        var image = PngTestDecoder.Decode(File.ReadAllBytes(path));
        Assert.That((image.Width, image.Height), Is.EqualTo((LinePlot.DefaultWidth, LinePlot.DefaultHeight)));
    }

    [Test]
    public void Save_UnequalCounts_NamesTheSeries()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            LinePlot.Save(Path.Combine(_dir, "bad.png"), "", "", "", [new Series("held-out", [0, 1, 2], [1, 2])]));
        Assert.That(e!.Message, Does.Contain("held-out").And.Contain("3 x values but 2 y values"));
        Assert.That(File.Exists(Path.Combine(_dir, "bad.png")), Is.False);
    }

    [Test]
    public void Save_BadPath_SaysWhichPathAndWhy()
    {
        Assert.Throws<ArgumentException>(() => LinePlot.Save("", "", "", "", []));

        var isDir = Assert.Throws<ArgumentException>(() => LinePlot.Save(_dir, "", "", "", []));
        Assert.That(isDir!.Message, Does.Contain(_dir).And.Contain("directory"));

        // A path "under" a regular file can never be created.
        string file = Path.Combine(_dir, "not-a-dir");
        File.WriteAllText(file, "x");
        string under = Path.Combine(file, "plot.png");
        var io = Assert.Throws<IOException>(() => LinePlot.Save(under, "", "", "", []));
        Assert.That(io!.Message, Does.Contain(under));
    }

    [Test]
    public void Save_CreatesTheDirectory_OverwritesAndLeavesNoTemporaryFiles()
    {
        string path = Path.Combine(_dir, "run", "plots", "loss.png");
        LinePlot.Save(path, "first", "", "", [Series.Indexed("a", [1, 2, 3])]);
        long first = new FileInfo(path).Length;
        LinePlot.Save(path, "second, with a longer title", "", "", [Series.Indexed("a", [3, 1, 2, 5, 4])], width: 400, height: 300);

        Assert.That(PngTestDecoder.ReadSize(File.ReadAllBytes(path)), Is.EqualTo((400, 300)));
        Assert.That(new FileInfo(path).Length, Is.Not.EqualTo(first));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void Save_TooSmall_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LinePlot.Save(Path.Combine(_dir, "small.png"), "", "", "", [], width: 50, height: 50));

    [TestCase(1, 1, 1)]
    [TestCase(3, 3, 1)]
    [TestCase(4, 2, 2)]
    [TestCase(5, 3, 2)]
    [TestCase(9, 3, 3)]
    public void SaveGrid_LaysPanelsOutInRowsUnderTheTitle(int panels, int cols, int rows)
    {
        string path = Path.Combine(_dir, "grid.png");
        var epochs = Range(6, 1, 1);
        var list = Enumerable.Range(0, panels)
            .Select(i => new Panel($"metric {i}", "epoch", "value", [new Series("m", epochs, epochs.Select(e => e * (i + 1)).ToArray())]))
            .ToList();

        LinePlot.SaveGrid(path, "", list, panelWidth: 300, panelHeight: 200);
        Assert.That(PngTestDecoder.ReadSize(File.ReadAllBytes(path)), Is.EqualTo((cols * 300, rows * 200)));

        LinePlot.SaveGrid(path, "Hyperfitting, per epoch", list, panelWidth: 300, panelHeight: 200);
        var image = PngTestDecoder.Decode(File.ReadAllBytes(path));
        Assert.That(image.Width, Is.EqualTo(cols * 300));
        int titleH = image.Height - rows * 200;
        Assert.That(titleH, Is.GreaterThan(0), "room for the title");

        // Each panel has its own line, inside its own cell.
        var blue = PixelsOf(image, Blue);
        for (int i = 0; i < panels; i++)
        {
            int cx = i % cols * 300, cy = titleH + i / cols * 200;
            Assert.That(blue.Count(p => p.X >= cx && p.X < cx + 300 && p.Y >= cy && p.Y < cy + 200), Is.GreaterThan(100), $"panel {i}");
        }
    }

    [Test]
    public void SaveGrid_NoPanelsOrEmptyPanels_StillWritesAnImage()
    {
        string path = Path.Combine(_dir, "empty-grid.png");
        LinePlot.SaveGrid(path, "nothing logged", []);
        Assert.That(PngTestDecoder.Decode(File.ReadAllBytes(path)).Width, Is.EqualTo(LinePlot.DefaultPanelWidth));

        LinePlot.SaveGrid(path, "", [new Panel("a", "", "", []), new Panel("b", "x", "y", [new Series("s", [], [])], LogY: true)], columns: 1);
        Assert.That(PngTestDecoder.ReadSize(File.ReadAllBytes(path)), Is.EqualTo((LinePlot.DefaultPanelWidth, 2 * LinePlot.DefaultPanelHeight)));
    }
}
