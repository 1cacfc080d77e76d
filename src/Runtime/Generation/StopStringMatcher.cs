using System.Text;

namespace Hyper.Runtime.Generation;

/// <summary>
/// Watches streamed text for stop strings. Text is released as soon as it cannot be the start of a stop
/// string; a tail that could be (e.g. "\n" while "\n\n" is a stop string) is held back until the next piece
/// decides it. GenerationResult stops at the first stop string to be completed, and the text ends where it starts.
/// </summary>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly StringBuilder _pending = new();

    /// <summary>Watches for <paramref name="stops"/> (none = every piece passes straight through).</summary>
    public StopStringMatcher(IEnumerable<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _stops = stops.ToArray();
        foreach (string s in _stops)
            if (string.IsNullOrEmpty(s)) throw new ArgumentException("a stop string must not be empty", nameof(stops));
    }

    /// <summary>Whether a stop string has been seen; after that every piece is dropped.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a piece of text and returns the part that is now safe to show (possibly empty).</summary>
    public string Push(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        if (Stopped) return "";
        if (_stops.Length == 0) return piece;
        _pending.Append(piece);
        string text = _pending.ToString();

        int cut = -1;
        foreach (string s in _stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return text[..cut];
        }

        int hold = 0;
        foreach (string s in _stops)
            for (int len = Math.Min(s.Length - 1, text.Length); len > hold; len--)
                if (text.AsSpan(text.Length - len).SequenceEqual(s.AsSpan(0, len))) { hold = len; break; }
        _pending.Clear().Append(text, text.Length - hold, hold);
        return text[..^hold];
    }

    /// <summary>Ends the stream: returns the held-back text (it did not become a stop string).</summary>
    public string Flush()
    {
        string rest = _pending.ToString();
        _pending.Clear();
        return Stopped ? "" : rest;
    }
}
