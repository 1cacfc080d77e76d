using System.CommandLine;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;

namespace Hyper.Cli.Commands;

/// <summary>`hyper convert`: between checkpoint folders and llm.c .bin checkpoints.</summary>
public static class ConvertCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var input = new Option<string>("--in") { Description = "A checkpoint folder or an llm.c .bin checkpoint.", Required = true };
        var output = new Option<string>("--out") { Description = "Where to write: a .bin path writes llm.c format, anything else a checkpoint folder.", Required = true };
        var version = new Option<int>("--llmc-version") { Description = "llm.c format version when writing .bin: 3 (fp32) or 5 (bf16).", DefaultValueFactory = _ => 3 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer recorded in a folder made from a .bin (default: byte for vocab 256, else gpt2)." };
        var cmd = new Command("convert", "Convert between a checkpoint folder (Hugging Face GPT-2 layout) and llm.c's .bin checkpoint (versions 3 and 5).")
        {
            input, output, version, tokenizer,
        };
        cmd.SetAction(r =>
        {
            string from = r.GetValue(input)!, to = r.GetValue(output)!;
            IModelConfig config;
            float[] arena;
            string tok;
            bool toBin = to.EndsWith(".bin", StringComparison.OrdinalIgnoreCase);
            if (toBin) OutputPath.RequireFile(to, "--out");
            else OutputPath.RequireFolder(to, "--out");
            if (!toBin && Checkpoint.IsCheckpoint(to)) throw new CliException($"{to} already holds a checkpoint; choose another --out");
            if (Directory.Exists(from))
            {
                if (!Checkpoint.IsCheckpoint(from)) throw new CliException($"--in {from}: not a checkpoint folder (no config.json)");
                config = Checkpoint.ReadConfig(from);
                arena = Checkpoint.ReadWeights(from, config, out _);
                tok = Checkpoint.ReadState(from, config).Tokenizer;
            }
            else
            {
                (var fromLlmc, arena) = LlmcCheckpoint.Read(from);
                config = fromLlmc;
                tok = r.GetValue(tokenizer) ?? (config.VocabSize == 256 ? "byte" : "gpt2");
            }
            if (toBin)
            {
                // llm.c's format holds GPT-2 only.
                if (config is not Gpt2Config gpt2) throw new CliException($"--out {to}: llm.c's .bin format holds GPT-2 models, not {config.ModelType}");
                LlmcCheckpoint.Write(to, gpt2, arena, r.GetValue(version));
            }
            else
            {
                using var backend = new CpuBackend();
                using var model = Architectures.Create(config, backend);
                model.LoadParameters(arena);
                Checkpoint.Save(to, model, new TrainingState { Tokenizer = tok }, withOptimizer: false);
            }
            Console.WriteLine($"wrote {to} ({Architectures.Of(config).ParameterCount(config):N0} parameters)");
            return 0;
        });
        return cmd;
    }
}
