using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.Generation;
using Hyper.Runtime.IO;
using Hyper.Runtime.Metrics;
using Hyper.Runtime.Text;
using Hyper.Runtime.Training;

namespace Hyper.Cli.Commands;

/// <summary>`hyper eval-gen`: the hyperfitting paper's generation metrics for models × decodings × prompts, side by side.</summary>
public static class EvalGenCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var models = new Option<string[]>("--model") { Description = "Checkpoint folder (repeatable); its label is the folder name.", Required = true };
        var decodings = new Option<string[]>("--decoding")
        {
            Description = "Decoding spec (repeatable; default greedy), also its label: comma-separated 'greedy' or key=value with the keys of " +
                $"hyper generate's options ({string.Join(", ", DecodingFlags.Keys)}), e.g. greedy; top-p=0.9,temperature=0.7,top-k=50; " +
                "greedy,block-citations=FILE. Without a temperature or a sampling filter it is greedy.",
        };
        var promptsFile = new Option<string?>("--prompts-file") { Description = "Prompts, one per blank-line separated paragraph (or a .jsonl of strings / {\"prompt\": ...})." };
        var from = new Option<string?>("--from")
        {
            Description = "Held-out text to take prompts from: the first --prompt-tokens tokens of --prompts passages spread evenly over it, starting at " +
                "paragraph starts when it has that many blank-line paragraphs (the first long-enough paragraph at or after each evenly spaced one), " +
                "else at word starts evenly spaced through the text.",
        };
        var count = new Option<int>("--prompts") { Description = "With --from: number of prompts.", DefaultValueFactory = _ => 100 };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "With --from: tokens per prompt (the paper: 32).", DefaultValueFactory = _ => 32 };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens generated per prompt (the paper's diversity table: 96; TTR uses the last 96).", DefaultValueFactory = _ => 96 };
        var trainData = new Option<string?>("--train-data") { Description = "The (hyperfitting) training data, for dataset overlap: the longest token run a generation shares with it." };
        var valData = new Option<string?>("--val-data") { Description = "Held-out corpus for each model's perplexity (windows of n_positions, as hyper eval)." };
        var valWindows = new Option<int>("--val-windows") { Description = "Evaluate perplexity on only the first N windows (0 = all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed, shared by every model and decoding (prompt i has its own stream).", DefaultValueFactory = _ => 1UL };
        var batch = new Option<int>("--batch") { Description = "Prompts of equal token length generated together.", DefaultValueFactory = _ => 8 };
        var sliding = new Option<bool>("--sliding-window")
        {
            Description = "When the context fills up, restart the cache from the last n_positions/2 tokens and go on (otherwise prompt + --new-tokens must fit in n_positions).",
        };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print the rows as a JSON array (label, model, decoding, then the metrics) instead of the table." };
        var csv = new Option<string?>("--csv") { Description = "Also write the rows as CSV to this file." };
        var samples = new Option<string?>("--samples") { Description = "Write every generation to this file as JSON Lines (model, decoding, prompt, text, tokens, logprobs, entropies)." };
        var cmd = new Command("eval-gen",
            "Generate from every model with every decoding on the same prompts and print the metrics of the hyperfitting paper side by side: " +
            "TTR (x100, last 96 tokens), distinct-1/2, Self-BLEU (BLEU-4), repeated 4-gram rate, dataset overlap (with --train-data), " +
            "mean entropy and top-1 probability of the model's predictions, held-out perplexity (with --val-data). Progress goes to stderr. " +
            "Decoding controls apply in this order: " + LogitsPipeline.Order)
        {
            models, decodings, promptsFile, from, count, promptTokens, newTokens, trainData, valData, valWindows, seed, batch, sliding, device, json, csv, samples,
        };
        var weights = new WeightsOption();
        weights.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var format = weights.Read(r);
            string[] modelDirs = r.GetValue(models)!;
            string[] specs = r.GetValue(decodings) is { Length: > 0 } given ? given : ["greedy"];
            string? promptsPath = r.GetValue(promptsFile), fromPath = r.GetValue(from);
            if (promptsPath is not null && fromPath is not null) throw new CliException("--prompts-file and --from exclude each other: give one");
            if (promptsPath is null && fromPath is null) throw new CliException("no prompts: give --prompts-file FILE or --from FILE");
            if (fromPath is null && (r.GetResult(count) is { Implicit: false } || r.GetResult(promptTokens) is { Implicit: false }))
                throw new CliException("--prompts and --prompt-tokens choose prompts from --from FILE; give --from");
            int n = r.GetValue(count), k = r.GetValue(promptTokens), maxNew = r.GetValue(newTokens);
            if (n < 1) throw new CliException($"--prompts {n} must be >= 1");
            if (k < 1) throw new CliException($"--prompt-tokens {k} must be >= 1");
            if (maxNew < 1) throw new CliException($"--new-tokens {maxNew} must be >= 1");
            if (r.GetValue(batch) < 1) throw new CliException($"--batch {r.GetValue(batch)} must be >= 1");
            foreach (var (flag, f) in new[] { ("--prompts-file", promptsPath), ("--from", fromPath), ("--train-data", r.GetValue(trainData)), ("--val-data", r.GetValue(valData)) })
                if (f is not null) InputFile.Require(f, flag);
            if (r.GetValue(csv) is { } csvOut) OutputPath.RequireFile(csvOut, "--csv");

            // Every spec is checked before any model is loaded: a typo should not cost a perplexity run.
            var flags = new DecodingFlags[specs.Length];
            for (int i = 0; i < specs.Length; i++)
            {
                try
                {
                    flags[i] = DecodingFlags.ParseSpec(specs[i]);
                    if (flags[i].BlockCitations is { } bc && !File.Exists(bc)) throw new ArgumentException($"block-citations {bc}: no such file");
                    flags[i].Resolve(_ => new TokenIndex([]), prefix: "");
                }
                catch (ArgumentException e)
                {
                    throw new CliException($"--decoding '{specs[i]}': {e.Message}");
                }
            }
            if (specs.Distinct().Count() != specs.Length) throw new CliException("a --decoding spec is given twice");

            var labels = ModelLabels(modelDirs);
            // Models that share a tokenizer (same name: byte, gpt2, or the same tokenizer.json) share one instance.
            var tokenizerNames = new string[modelDirs.Length];
            var byName = new Dictionary<string, ITokenizer>(StringComparer.Ordinal);
            for (int i = 0; i < modelDirs.Length; i++)
            {
                string dir = modelDirs[i];
                if (!Directory.Exists(dir)) throw new CliException($"{dir}: no such model folder");
                if (!Checkpoint.IsCheckpoint(dir)) throw new CliException($"{dir}: not a checkpoint folder (no config.json)");
                var config = Checkpoint.ReadConfig(dir);
                var own = ModelTokenizer.Of(dir, Checkpoint.ReadState(dir, config), config);
                tokenizerNames[i] = own.Name;
                byName.TryAdd(own.Name, own);
            }
            var tokenizers = byName;

            // Prompts as text (--prompts-file, encoded per model) or as passages (--from, cut to k tokens per model).
            IReadOnlyList<string> promptTexts;
            bool cut = fromPath is not null;
            if (fromPath is not null)
            {
                if (TokenShard.HasMagic(fromPath)) throw new CliException($"--from {fromPath}: needs a text file (it is a token shard)");
                promptTexts = HeldOutPrompts.Passages(File.ReadAllText(fromPath), n, k, [.. tokenizers.Values], fromPath);
            }
            else promptTexts = PromptFile.Read(promptsPath!);

            var options = new GenerationOptions { MaxNewTokens = maxNew, Seed = r.GetValue(seed), MaxBatch = r.GetValue(batch), SlidingWindow = r.GetValue(sliding) };
            // Each model reads the prompts with its own tokenizer; all are checked against their contexts up front.
            var modelPrompts = new List<int[]>[modelDirs.Length];
            for (int i = 0; i < modelDirs.Length; i++)
            {
                var tokenizer = tokenizers[tokenizerNames[i]];
                modelPrompts[i] = promptTexts.Select(p => cut ? HeldOutPrompts.Prefix(p, k, tokenizer)! : tokenizer.Encode(p)).ToList();
                try
                {
                    TextGenerator.Validate(modelPrompts[i], Checkpoint.ReadConfig(modelDirs[i]), options);
                }
                catch (ArgumentException e)
                {
                    throw new CliException($"{labels[i]}: {e.Message}");
                }
            }

            var line = new ProgressLine();
            var trainIndex = new Dictionary<string, TokenIndex>();
            var citations = new CitationIndexes();
            var rows = new List<(string Label, string Model, string Decoding, GenerationMetrics Metrics)>();
            using var samplesOut = r.GetValue(samples) is { } sp ? new StreamWriter(sp, append: false, new UTF8Encoding(false)) { NewLine = "\n" } : null;
            using var backend = BackendRegistry.Create(r.GetValue(device)!);
            LowPrecision.Use(backend, format);

            for (int mi = 0; mi < modelDirs.Length; mi++)
            {
                var tokenizer = tokenizers[tokenizerNames[mi]];
                var (m, _) = ModelFolders.Load(modelDirs[mi], backend);
                using var model = m;
                var prompts = modelPrompts[mi];

                double? perplexity = null;
                if (r.GetValue(valData) is { } val)
                {
                    line.Update($"{labels[mi]}: held-out perplexity on {val} ...");
                    var tokens = TokenCorpus.Load(val, tokenizer);
                    if (tokens.Length < 2) throw new CliException($"--val-data {val}: {tokens.Length} token is too few for a perplexity");
                    int T = Math.Min(model.Config.Context, tokens.Length - 1);
                    int windows = r.GetValue(valWindows) <= 0 ? int.MaxValue : r.GetValue(valWindows);
                    perplexity = Evaluator.Evaluate(model, tokens, T, windows).Perplexity;
                    line.Update($"{labels[mi]}: held-out perplexity {perplexity:F3}", keep: true);
                }
                TokenIndex? index = null;
                if (r.GetValue(trainData) is { } train && !trainIndex.TryGetValue(tokenizer.Name, out index))
                {
                    line.Update($"indexing {train} ({tokenizer.Name} tokens) ...");
                    trainIndex[tokenizer.Name] = index = new TokenIndex(TokenCorpus.Load(train, tokenizer));
                }

                var generator = new TextGenerator(model, tokenizer);
                for (int di = 0; di < specs.Length; di++)
                {
                    var sampling = flags[di].Resolve(citations.For(tokenizer), prefix: "");
                    int done = 0;
                    string where = $"{labels[mi]} ({mi + 1}/{modelDirs.Length}), {specs[di]} ({di + 1}/{specs.Length})";
                    line.Update($"{where}: 0/{prompts.Count} prompts");
                    var generations = generator.Generate(prompts, sampling, options, onFinished: g =>
                    {
                        done++;
                        line.Update($"{where}: {done}/{prompts.Count} prompts");
                    });
                    foreach (var g in generations)
                    {
                        if (samplesOut is not null)
                        {
                            var fields = new Dictionary<string, object?> { ["model"] = labels[mi], ["decoding"] = specs[di] };
                            foreach (var (key, value) in GenerationJson.Fields(g)) fields[key] = value;
                            samplesOut.WriteLine(JsonSerializer.Serialize(fields, GenerationJson.Options));
                        }
                    }
                    var metrics = GenerationMetrics.Of(generations, index, perplexity);
                    rows.Add(($"{labels[mi]}: {specs[di]}", labels[mi], specs[di], metrics));
                }
            }
            line.Done();

            var table = rows.Select(x => (x.Label, x.Metrics)).ToList();
            if (r.GetValue(csv) is { } csvPath) File.WriteAllText(csvPath, MetricsTable.ToCsv(table));
            if (r.GetValue(json))
            {
                var array = JsonNode.Parse(MetricsTable.ToJson(table))!.AsArray();
                for (int i = 0; i < rows.Count; i++)
                {
                    var old = array[i]!.AsObject();
                    var obj = new JsonObject { ["label"] = rows[i].Label, ["model"] = rows[i].Model, ["decoding"] = rows[i].Decoding };
                    foreach (var (key, value) in old.ToList())
                        if (key != "label") obj[key] = value?.DeepClone();
                    array[i] = obj;
                }
                Console.WriteLine(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Console.Error.WriteLine($"{promptTexts.Count} prompts x {maxNew} new tokens, seed {r.GetValue(seed)}");
                Console.Write(MetricsTable.ToText(table));
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>Each model's label: its folder name, or the path as given where two folders share a name.</summary>
    private static string[] ModelLabels(string[] dirs)
    {
        var names = dirs.Select(d => Path.GetFileName(Path.TrimEndingDirectorySeparator(d))).ToArray();
        return names.Select((name, i) => names.Count(x => x == name) > 1 || name.Length == 0 ? dirs[i] : name).ToArray();
    }
}
