using Hyper.Runtime.Models;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.Generation;

/// <summary>
/// Continues prompts with a GPT-2 and a <see cref="Sampler"/>: prompts of equal token length run together
/// as one batch through a KV-cached <see cref="IDecoder"/> (one prefill, then one token per row per
/// step), each with its own seeded random stream, so a prompt's output does not depend on its batch.
/// </summary>
public sealed class TextGenerator
{
    private readonly ICausalLm _model;
    private readonly ITokenizer _tokenizer;

    /// <summary>A generator for <paramref name="model"/>, whose ids <paramref name="tokenizer"/> spells.</summary>
    public TextGenerator(ICausalLm model, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _model = model;
        _tokenizer = tokenizer;
    }

    /// <summary>Encodes the prompts with the tokenizer and generates (see the token overload).</summary>
    public IReadOnlyList<GenerationResult> Generate(
        IReadOnlyList<string> prompts, SamplingSettings sampling, GenerationOptions options,
        Action<int, string>? onText = null, Action<GenerationResult>? onFinished = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return Generate(prompts.Select(p => _tokenizer.Encode(p ?? throw new ArgumentNullException(nameof(prompts)))).ToList(),
            sampling, options, onText, onFinished);
    }

    /// <summary>
    /// Generates a continuation of every prompt, in prompt order. Throws <see cref="ArgumentException"/>
    /// before any work for an empty prompt, a prompt longer than the context (n_positions), and, without a
    /// sliding window, a prompt + <see cref="GenerationOptions.MaxNewTokens"/> longer than the context.
    /// With <see cref="GenerationOptions.SlidingWindow"/>, a full cache is reset and refilled with the last
    /// n_positions / 2 tokens of each row (the newest included), and generation goes on.
    /// </summary>
    /// <param name="prompts">Token ids of each prompt.</param>
    /// <param name="sampling">How each token is chosen.</param>
    /// <param name="options">Budget, stop strings, seed, sliding window, batch size.</param>
    /// <param name="onText">Called with (prompt index, text) for every piece of text as it becomes final.</param>
    /// <param name="onFinished">Called with each result as soon as its batch ends.</param>
    public IReadOnlyList<GenerationResult> Generate(
        IReadOnlyList<int[]> prompts, SamplingSettings sampling, GenerationOptions options,
        Action<int, string>? onText = null, Action<GenerationResult>? onFinished = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(options);
        Validate(prompts, _model.Config, options);
        var sampler = new Sampler(sampling);

        var results = new GenerationResult[prompts.Count];
        // Equal lengths share a batch, so one prefill of [B, T] needs no padding. Batches run in the order of
        // their first prompt: with a batch size of 1 that is prompt order, which streaming output relies on.
        var batches = Enumerable.Range(0, prompts.Count)
            .GroupBy(i => prompts[i].Length)
            .SelectMany(g => g.Chunk(options.MaxBatch))
            .OrderBy(chunk => chunk[0]);
        foreach (int[] batch in batches)
            foreach (var g in RunBatch(batch, prompts, sampler, options, onText))
            {
                results[g.PromptIndex] = g;
                onFinished?.Invoke(g);
            }
        return results;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for what <see cref="Generate(IReadOnlyList{int[]}, SamplingSettings, GenerationOptions, Action{int, string}?, Action{GenerationResult}?)"/>
    /// would refuse: an empty prompt, a token outside the vocabulary, a prompt longer than the context, or,
    /// without a sliding window, a prompt + new tokens longer than the context. Lets a caller check every
    /// model's prompts before spending time on any of them.
    /// </summary>
    public static void Validate(IReadOnlyList<int[]> prompts, IModelConfig config, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int context = config.Context, vocab = config.VocabSize;
        for (int i = 0; i < prompts.Count; i++)
        {
            int[] p = prompts[i] ?? throw new ArgumentNullException(nameof(prompts));
            string name = prompts.Count == 1 ? "the prompt" : $"prompt {i + 1} of {prompts.Count}";
            if (p.Length == 0) throw new ArgumentException($"{name} is empty: the model needs at least one token to continue");
            foreach (int t in p)
                if ((uint)t >= (uint)vocab) throw new ArgumentException($"{name} holds token id {t}, outside the model's vocabulary (0..{vocab - 1})");
            if (p.Length > context)
                throw new ArgumentException($"{name} has {p.Length} tokens, more than the model's context of {context} tokens (n_positions)");
            if (!options.SlidingWindow && p.Length + options.MaxNewTokens > context)
                throw new ArgumentException(
                    $"{name} has {p.Length} tokens; with {options.MaxNewTokens} new tokens that is {p.Length + options.MaxNewTokens}, " +
                    $"more than the model's context of {context} tokens (n_positions): generate at most {context - p.Length} new tokens, or use a sliding window");
        }
    }

    private GenerationResult[] RunBatch(int[] indices, IReadOnlyList<int[]> prompts, Sampler sampler, GenerationOptions options, Action<int, string>? onText)
    {
        var rows = indices.Select(i => new GenerationRow(i, prompts[i], _tokenizer, options, onText)).ToArray();
        int B = rows.Length, Tp = prompts[indices[0]].Length, V = _model.Config.VocabSize, context = _model.Config.Context;
        // A model may have more logits than the tokenizer has ids (a padded vocabulary): those can never be spelled.
        int usable = Math.Min(V, _tokenizer.VocabSize);
        if (!rows[0].Done)
        {
            // Without a sliding window the cache never needs more than the prompt and all but the last new
            // token (that one is chosen, never fed): a smaller cache for short generations.
            int maxT = options.SlidingWindow ? context : Math.Min(context, Tp + options.MaxNewTokens - 1);
            using var decoder = _model.CreateDecoder(B, maxT);
            var logits = new float[B * V];
            var input = new int[B * Math.Max(Tp, Math.Max(1, context / 2))];
            for (int b = 0; b < B; b++) rows[b].Prompt.CopyTo(input, b * Tp);
            decoder.Feed(input.AsSpan(0, B * Tp), Tp, logits);
            while (true)
            {
                for (int b = 0; b < B; b++)
                    if (!rows[b].Done) rows[b].Take(sampler, logits.AsSpan(b * V, usable));
                if (rows.All(r => r.Done)) break;
                for (int b = 0; b < B; b++) input[b] = rows[b].NextInput();
                if (decoder.Fits(1))
                {
                    decoder.Feed(input.AsSpan(0, B), 1, logits);
                    continue;
                }
                if (!options.SlidingWindow)
                    throw new InvalidOperationException($"the cache of {decoder.MaxT} positions is full; Validate should have refused this prompt");
                // All rows of a batch share one position, so they slide together.
                int keep = Math.Max(1, context / 2);
                decoder.Reset();
                for (int b = 0; b < B; b++)
                {
                    var fed = rows[b].Fed;
                    for (int j = 0; j < keep; j++) input[b * keep + j] = fed[fed.Count - keep + j];
                }
                decoder.Feed(input.AsSpan(0, B * keep), keep, logits);
            }
        }
        return rows.Select(r => r.Complete(_tokenizer)).ToArray();
    }
}
