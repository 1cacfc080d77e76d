// Hyper's build: `dotnet tool restore` once, then `dotnet cake --target=<Target>`.
//   Build  compile the solution (Release, warnings as errors)
//   Test   run the NUnit suite (the same command as the README's)
//   Bench  run `hyper bench train` on the benchmark model and the BenchmarkDotNet kernel benchmarks
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("filter", "*");

Task("Clean")
    .Does(() =>
{
    DotNetClean("Hyper.sln", new DotNetCleanSettings { Configuration = configuration });
});

Task("Build")
    .Does(() =>
{
    DotNetBuild("Hyper.sln", new DotNetBuildSettings { Configuration = configuration });
});

Task("Test")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest("Hyper.sln", new DotNetTestSettings { Configuration = configuration, NoBuild = true });
});

Task("Bench")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetRun("src/Cli/Hyper.Cli.csproj", new ProcessArgumentBuilder()
        .Append("bench").Append("train").Append("--model").Append("small")
        .Append("--batch").Append("8").Append("--seq").Append("256").Append("--steps").Append("10"),
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
    DotNetRun("bench/Hyper.Bench.csproj", new ProcessArgumentBuilder().Append("--filter").Append(benchFilter),
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
});

RunTarget(target);
