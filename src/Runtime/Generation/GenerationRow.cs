using System.Text;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.Generation;

/// <summary>The state of one prompt while <see cref="TextGenerator"/> runs it in a batch.</summary>
internal sealed class GenerationRow
{
    private readonly ITokenDecoder _decoder;
    private readonly StopStringMatcher _stops;
    private readonly StringBuilder _text = new();
    private readonly List<GeneratedToken> _tokens = [];
    private readonly List<int> _fed;
    private readonly Rng _rng;
    private readonly int _maxNew;
    private readonly int? _endOfText;
    private readonly Action<int, string>? _onText;

    public GenerationRow(int promptIndex, int[] prompt, ITokenizer tokenizer, GenerationOptions options, Action<int, string>? onText)
    {
        PromptIndex = promptIndex;
        Prompt = prompt;
        Context = new DecodingContext(prompt);
        _decoder = tokenizer.CreateStreamingDecoder();
        _stops = new StopStringMatcher(options.StopStrings);
        _fed = [.. prompt];
        _rng = GenerationOptions.RngFor(options.Seed, promptIndex);
        _maxNew = options.MaxNewTokens;
        _endOfText = options.StopAtEndOfText ? tokenizer.EndOfText : null;
        _onText = onText;
        if (_maxNew == 0) Finish = FinishReason.Length;
    }

    public int PromptIndex { get; }
    public int[] Prompt { get; }
    public DecodingContext Context { get; }

    /// <summary>Why the row ended, or null while it is still generating.</summary>
    public FinishReason? Finish { get; private set; }

    public bool Done => Finish is not null;

    /// <summary>Every token fed to the model for this row so far (prompt first), for a sliding-window refill.</summary>
    public IReadOnlyList<int> Fed => _fed;

    /// <summary>Chooses, records and streams the next token from this row's logits.</summary>
    public void Take(Sampler sampler, ReadOnlySpan<float> logits)
    {
        var next = sampler.Next(logits, Context, _rng);
        if (next is not { } token) { Finish = FinishReason.Blocked; return; }
        if (token.Id == _endOfText) { Finish = FinishReason.EndOfText; return; }
        _tokens.Add(token);
        Context.Append(token.Id);
        Emit(_stops.Push(_decoder.Append(token.Id)));
        if (_stops.Stopped) Finish = FinishReason.Stop;
        else if (_tokens.Count == _maxNew) Finish = FinishReason.Length;
    }

    /// <summary>
    /// The token to feed next: the one just chosen, or, for a finished row that still occupies its batch
    /// slot, a repeat of its last fed token (its logits are ignored from then on).
    /// </summary>
    public int NextInput()
    {
        int id = Done || _tokens.Count == 0 ? _fed[^1] : _tokens[^1].Id;
        _fed.Add(id);
        return id;
    }

    /// <summary>Flushes the held-back text and returns the result.</summary>
    public GenerationResult Complete(ITokenizer tokenizer)
    {
        if (!_stops.Stopped)
        {
            Emit(_stops.Push(_decoder.Flush()));
            Emit(_stops.Flush());
        }
        return new GenerationResult
        {
            PromptIndex = PromptIndex,
            PromptTokens = Prompt,
            Prompt = tokenizer.Decode(Prompt),
            Tokens = _tokens.ToArray(),
            Text = _text.ToString(),
            FinishReason = Finish ?? FinishReason.Length,
        };
    }

    private void Emit(string piece)
    {
        if (piece.Length == 0) return;
        _text.Append(piece);
        _onText?.Invoke(PromptIndex, piece);
    }
}
