using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.Generation;
using Hyper.Runtime.IO;
using Hyper.Runtime.Metrics;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;

namespace Hyper.Cli.Commands;

/// <summary>`hyper generate`: continue prompts with a checkpoint, streaming the text.</summary>
public static class GenerateCommand
{
    /// <summary>The decoding-control options, shared in shape with the keys of an eval-gen spec.</summary>
    private sealed record DecodingOptions(
        Option<bool> Greedy, Option<double?> Temperature, Option<int?> TopK, Option<double?> TopP, Option<double?> MinP, Option<double?> TypicalP,
        Option<double?> RepetitionPenalty, Option<double?> FrequencyPenalty, Option<double?> PresencePenalty, Option<int?> NoRepeatNgramSize,
        Option<string?> BlockCitations)
    {
        public IEnumerable<Option> All => [Greedy, Temperature, TopK, TopP, MinP, TypicalP, RepetitionPenalty, FrequencyPenalty, PresencePenalty, NoRepeatNgramSize, BlockCitations];

        public DecodingFlags Read(ParseResult r) => new()
        {
            Greedy = r.GetValue(Greedy),
            Temperature = r.GetValue(Temperature),
            TopK = r.GetValue(TopK),
            TopP = r.GetValue(TopP),
            MinP = r.GetValue(MinP),
            TypicalP = r.GetValue(TypicalP),
            RepetitionPenalty = r.GetValue(RepetitionPenalty),
            FrequencyPenalty = r.GetValue(FrequencyPenalty),
            PresencePenalty = r.GetValue(PresencePenalty),
            NoRepeatNgramSize = r.GetValue(NoRepeatNgramSize),
            BlockCitations = r.GetValue(BlockCitations),
        };
    }

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Checkpoint folder: ours, or a Hugging Face folder as downloaded (model_type gpt2, llama, mistral, qwen2, qwen3); or give --hypernet." };
        var hypernet = new Option<string?>("--hypernet") { Description = "Generate with the model a hypernetwork folder produces at --gamma (instead of --model)." };
        var gamma = new Option<float?>("--gamma") { Description = "With --hypernet: the gamma in [0, 1] to generate the weights at." };
        var prompt = new Option<string?>("--prompt") { Description = "The prompt. Without --prompt or --prompt-file, prompts are read from stdin (as a prompt file)." };
        var promptFile = new Option<string?>("--prompt-file")
        {
            Description = "Prompts, one per paragraph (paragraphs separated by blank lines; a prompt may span lines); a .jsonl file holds " +
                "one JSON string or {\"prompt\": ...} per line, for exact whitespace. '-' reads stdin.",
        };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate per prompt (at most; a stop string or end-of-text ends earlier).", DefaultValueFactory = _ => 64 };
        var d = new DecodingOptions(
            new Option<bool>("--greedy") { Description = "Greedy decoding (argmax; the same as --temperature 0). The default when no sampling option is given." },
            new Option<double?>("--temperature") { Description = "Sampling temperature (> 0 samples; 0 = greedy). Default 1 when a sampling filter is given." },
            new Option<int?>("--top-k") { Description = "Sample among the k most probable tokens only (0 = off)." },
            new Option<double?>("--top-p") { Description = "Nucleus: sample among the smallest set of most probable tokens whose mass reaches p, in (0, 1] (1 = off)." },
            new Option<double?>("--min-p") { Description = "Sample among tokens with p >= min_p * p_max, in [0, 1] (0 = off)." },
            new Option<double?>("--typical-p") { Description = "Locally typical sampling (Meister et al.): keep tokens by |-log p - H| until their mass reaches the value, in (0, 1] (1 = off)." },
            new Option<double?>("--repetition-penalty") { Description = "Hugging Face/CTRL: for token ids in prompt + generated text, logit > 0 -> logit / r, else logit * r (1 = off)." },
            new Option<double?>("--frequency-penalty") { Description = "OpenAI: logit -= f * count, counts over the generated tokens (0 = off)." },
            new Option<double?>("--presence-penalty") { Description = "OpenAI: logit -= p for every token already generated (0 = off)." },
            new Option<int?>("--no-repeat-ngram-size") { Description = "Ban tokens that would repeat an n-gram of prompt + generated text (0 = off)." },
            new Option<string?>("--block-citations") { Description = "Citation blocker: when the last 5 generated tokens occur in this text file (or token shard), ban every token that continues them there." });
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable): generation ends at the first one completed; the text is cut before it." };
        var seed = new Option<ulong>("--seed") { Description = "Seed: the same seed gives the same output; prompt i samples from its own stream derived from (seed, i).", DefaultValueFactory = _ => 1UL };
        var sliding = new Option<bool>("--sliding-window") { Description = "When the context fills up, restart the cache from the last n_positions/2 tokens and go on (otherwise prompt + --max-new-tokens must fit in n_positions)." };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Do not stop at the tokenizer's end-of-text token." };
        var batch = new Option<int>("--batch") { Description = "With --json, run up to this many prompts of equal token length together (text output streams one prompt at a time).", DefaultValueFactory = _ => 8 };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per prompt per line (prompt order): prompt_index (from 0), prompt, text, finish_reason, prompt_tokens, tokens, logprobs, entropies, top1." };
        var cmd = new Command("generate",
            "Continue prompts with a checkpoint, streaming the text to the terminal as it is produced. Decoding controls apply in this order: " + LogitsPipeline.Order)
        {
            model, hypernet, gamma, prompt, promptFile, maxNew,
        };
        foreach (var o in d.All) cmd.Options.Add(o);
        foreach (Option o in new Option[] { stop, seed, sliding, ignoreEos, batch, device, json }) cmd.Options.Add(o);

        var attention = new HyperAttentionOptions();
        attention.AddTo(cmd);
        var weights = new WeightsOption();
        weights.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var format = weights.Read(r);
            var flags = d.Read(r);
            if (r.GetValue(maxNew) < 0) throw new CliException($"--max-new-tokens {r.GetValue(maxNew)} must be >= 0");
            if (r.GetValue(batch) < 1) throw new CliException($"--batch {r.GetValue(batch)} must be >= 1");
            var prompts = ReadPrompts(r.GetValue(prompt), r.GetValue(promptFile));
            if (flags.BlockCitations is { } f && !File.Exists(f)) throw new CliException($"--block-citations {f}: no such file");
            // Contradictory or out-of-range flags fail before the model is loaded.
            flags.Resolve(_ => new TokenIndex([]));

            using var backend = BackendRegistry.Create(r.GetValue(device)!);
            LowPrecision.Use(backend, format);
            var (m, state) = (r.GetValue(model), r.GetValue(hypernet), r.GetValue(gamma)) switch
            {
                ({ } dir, null, null) => ModelFolders.Load(dir, backend),
                (null, { } h, { } g) => ModelFolders.LoadAt(h, g, backend),
                (null, { }, null) => throw new CliException("--hypernet needs --gamma G (0 <= G <= 1)"),
                (null, null, _) => throw new CliException("no model: give --model DIR, or --hypernet DIR --gamma G"),
                _ => throw new CliException("--model excludes --hypernet and --gamma: give one model"),
            };
            using var _ = m;
            attention.Read(r, r.GetValue(seed))?.Apply(m);
            var tokenizer = r.GetValue(model) is { } modelDir ? ModelTokenizer.Of(modelDir, state, m.Config) : Tokenizers.Create(state.Tokenizer);
            var sampling = flags.Resolve(new CitationIndexes().For(tokenizer));
            bool asJson = r.GetValue(json);
            var options = new GenerationOptions
            {
                MaxNewTokens = r.GetValue(maxNew),
                StopStrings = r.GetValue(stop) ?? [],
                Seed = r.GetValue(seed),
                SlidingWindow = r.GetValue(sliding),
                StopAtEndOfText = !r.GetValue(ignoreEos),
                MaxBatch = asJson ? r.GetValue(batch) : 1,
            };

            var generator = new TextGenerator(m, tokenizer);
            var clock = Stopwatch.StartNew();
            IReadOnlyList<GenerationResult> results;
            if (asJson)
            {
                results = generator.Generate(prompts, sampling, options);
                foreach (var g in results) Console.WriteLine(JsonSerializer.Serialize(GenerationJson.Fields(g), GenerationJson.Options));
            }
            else
            {
                // One prompt at a time in prompt order (batch 1), so the stream reads as text: the prompt, its
                // continuation as it comes, a blank line before the next.
                var stdout = Console.Out;
                int shown = -1;
                void Header(int index)
                {
                    if (shown == index) return;
                    if (shown >= 0) stdout.Write('\n');
                    stdout.Write(prompts[index]);
                    shown = index;
                }
                results = generator.Generate(prompts, sampling, options,
                    onText: (i, piece) => { Header(i); stdout.Write(piece); stdout.Flush(); },
                    onFinished: g => { Header(g.PromptIndex); stdout.Write('\n'); stdout.Flush(); });
            }
            int total = results.Sum(g => g.Tokens.Count);
            double seconds = clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"{results.Count} prompt{(results.Count == 1 ? "" : "s")}, {total} tokens in {seconds:F2} s ({(seconds > 0 ? total / seconds : 0):F1} tokens/s)");
            return 0;
        });
        return cmd;
    }

    /// <summary>The prompts from --prompt, --prompt-file or stdin; a user error when there are none or both options are given.</summary>
    private static IReadOnlyList<string> ReadPrompts(string? prompt, string? promptFile)
    {
        if (prompt is not null && promptFile is not null) throw new CliException("--prompt and --prompt-file exclude each other: give one");
        if (prompt is not null)
            return prompt.Length == 0 ? throw new CliException("--prompt is empty: the model needs at least one token to continue") : [prompt];
        if (promptFile == "-" || (promptFile is null && Console.IsInputRedirected))
            return PromptFile.Parse(Console.In.ReadToEnd(), "stdin");
        if (promptFile is null) throw new CliException("no prompt: give --prompt TEXT, --prompt-file FILE, or pipe prompts to stdin");
        return PromptFile.Read(promptFile);
    }
}
