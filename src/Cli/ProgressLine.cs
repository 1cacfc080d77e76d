namespace Hyper.Cli;

/// <summary>
/// A status line on stderr: rewritten in place on a terminal; when stderr is a file or pipe,
/// only kept lines and a line every few seconds are written, so logs stay readable.
/// </summary>
public sealed class ProgressLine
{
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private DateTime _lastWritten = DateTime.MinValue;
    private int _width;

    /// <summary>Shows <paramref name="text"/>; a kept line stays on screen.</summary>
    public void Update(string text, bool keep = false)
    {
        if (_interactive)
        {
            Console.Error.Write("\r" + text.PadRight(_width));
            _width = text.Length;
            if (keep) { Console.Error.WriteLine(); _width = 0; }
        }
        else if (keep || DateTime.UtcNow - _lastWritten > TimeSpan.FromSeconds(5))
        {
            Console.Error.WriteLine(text);
            _lastWritten = DateTime.UtcNow;
        }
    }

    /// <summary>A message on its own line.</summary>
    public void Note(string text)
    {
        Done();
        Console.Error.WriteLine(text);
    }

    /// <summary>Ends an in-place line.</summary>
    public void Done()
    {
        if (_interactive && _width > 0) Console.Error.WriteLine();
        _width = 0;
    }

    /// <summary>h:mm:ss or m:ss.</summary>
    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
}
