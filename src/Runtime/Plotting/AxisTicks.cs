using System.Globalization;

namespace Hyper.Runtime.Plotting;

/// <summary>Where an axis gets ticks, and how their values are written.</summary>
internal static class AxisTicks
{
    /// <summary>At most <paramref name="maxTicks"/> (and at least one, where the range allows) ticks inside the scale's range.</summary>
    public static List<Tick> For(AxisScale scale, int maxTicks)
    {
        maxTicks = Math.Max(2, maxTicks);
        return scale.Log ? Log(scale.Min, scale.Max, maxTicks) : Linear(scale.Min, scale.Max, maxTicks);
    }

    /// <summary>Multiples of a "nice" step (1, 2 or 5 × 10^k): the finest such step giving at most maxTicks.</summary>
    public static List<Tick> Linear(double min, double max, int maxTicks)
    {
        // Start a little too fine and coarsen: any finer step would give more than maxTicks ticks.
        double step = NiceStep((max - min) / (maxTicks + 1));
        // Tick values are i·step, so they carry no accumulated rounding; the slack admits ends
        // that sit exactly on the range limits despite the limits' own rounding.
        long first = (long)Math.Ceiling(min / step - 1e-9);
        long last = (long)Math.Floor(max / step + 1e-9);
        while (last - first + 1 > maxTicks)
        {
            step = NiceStep(step * 1.5);
            first = (long)Math.Ceiling(min / step - 1e-9);
            last = (long)Math.Floor(max / step + 1e-9);
        }
        var ticks = new List<Tick>();
        for (long i = first; i <= last; i++)
        {
            double v = i * step;
            ticks.Add(new Tick(v, FormatLinear(v, step, Math.Max(Math.Abs(min), Math.Abs(max)))));
        }
        return ticks;
    }

    /// <summary>
    /// Powers of ten when the range holds four or more of them (every k-th if too many), else
    /// 1, 2, 5 × 10^k if that gives 3..maxTicks, else two powers of ten, else (less than about a
    /// decade) plain linear ticks, which are the readable choice for a loss that falls from 11 to 3.
    /// </summary>
    public static List<Tick> Log(double min, double max, int maxTicks)
    {
        int kLo = (int)Math.Floor(Math.Log10(min)) - 1, kHi = (int)Math.Ceiling(Math.Log10(max)) + 1;
        List<double> powers = Candidates(min, max, kLo, kHi, [1]);
        if (powers.Count >= 4)
        {
            // Every stride-th decade, stride itself 1, 2 or 5 × 10^j and the exponents its multiples,
            // so a wide range reads 1e-30, 1e-20, … rather than 1e-33, 1e-24, ….
            var ticks = new List<Tick>();
            bool exponent = powers[0] < 1e-3 || powers[^1] > 1e4;
            for (int stride = 1; ; stride = (int)NiceStep(stride + 1))
            {
                ticks.Clear();
                foreach (double p in powers)
                {
                    int k = (int)Math.Round(Math.Log10(p));
                    if (k % stride == 0) ticks.Add(new Tick(p, exponent ? $"1e{k}" : FormatPlain(p)));
                }
                if (ticks.Count <= maxTicks && ticks.Count >= 2 || stride >= powers.Count) return ticks;
            }
        }
        List<double> oneTwoFive = Candidates(min, max, kLo, kHi, [1, 2, 5]);
        if (oneTwoFive.Count >= 3 && oneTwoFive.Count <= maxTicks)
            return oneTwoFive.ConvertAll(v => new Tick(v, FormatPlain(v)));
        if (powers.Count >= 2)
            return powers.ConvertAll(v => new Tick(v, FormatPlain(v)));
        return Linear(min, max, maxTicks).FindAll(t => t.Value > 0);
    }

    private static List<double> Candidates(double min, double max, int kLo, int kHi, double[] mantissas)
    {
        var values = new List<double>();
        for (int k = kLo; k <= kHi; k++)
        {
            foreach (double m in mantissas)
            {
                // Parsing "me k" gives the double nearest m·10^k, where Math.Pow may be an ulp off.
                double v = double.Parse($"{m}e{k}", CultureInfo.InvariantCulture);
                if (v >= min * (1 - 1e-12) && v <= max * (1 + 1e-12)) values.Add(v);
            }
        }
        return values;
    }

    /// <summary>The smallest of 1, 2, 5 × 10^k that is at least <paramref name="raw"/>.</summary>
    public static double NiceStep(double raw)
    {
        if (!(raw > 0) || double.IsInfinity(raw)) return 1;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / mag;
        double nice = norm <= 1 + 1e-9 ? 1 : norm <= 2 + 1e-9 ? 2 : norm <= 5 + 1e-9 ? 5 : 10;
        return nice * mag;
    }

    /// <summary>
    /// Every label of an axis with the same number of decimals (those the step needs), or a short
    /// exponent form where plain digits would be long (|v| ≥ 1e6, or steps below 1e-4).
    /// </summary>
    public static string FormatLinear(double v, double step, double magnitude)
    {
        if (Math.Abs(v) < step * 1e-6) v = 0; // and never "-0.0"
        if (magnitude >= 1e6 || step < 1e-4) return v == 0 ? "0" : v.ToString("0.###e0", CultureInfo.InvariantCulture);
        int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 10);
        return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    /// <summary>A single value as short as it reads unambiguously.</summary>
    public static string FormatPlain(double v)
    {
        double a = Math.Abs(v);
        if (a == 0) return "0";
        return a >= 1e-4 && a < 1e6
            ? v.ToString("0.#####", CultureInfo.InvariantCulture)
            : v.ToString("0.###e0", CultureInfo.InvariantCulture);
    }
}
