using System;
using System.Diagnostics;
using System.IO;

namespace NpcSdk.Cli.Tests
{
    /// <summary>
    /// Runs the real <c>npcsdk</c> program as a child process: the one built next to the tests, or the executable named by
    /// <c>NPCSDK_CLI</c> (CI points it at the native AOT build).
    /// </summary>
    internal static class CliRunner
    {
        public sealed record Result(int ExitCode, string StdOut, string StdErr);

        public static string RepoRoot => NpcSdk.Tests.Shared.RepoPaths.Root;

        public static string Data(params string[] parts) => Path.Combine(AppContext.BaseDirectory, "data", Path.Combine(parts));

        public static Result Run(params string[] args) => RunWithInput(null, args);

        /// <summary>Runs it with <paramref name="stdin"/> as its standard input (null: none).</summary>
        public static Result RunWithInput(string? stdin, params string[] args)
        {
            string? executable = Environment.GetEnvironmentVariable("NPCSDK_CLI");
            var psi = new ProcessStartInfo(string.IsNullOrEmpty(executable) ? "dotnet" : executable)
            {
                RedirectStandardInput = stdin != null,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = RepoRoot,
                StandardOutputEncoding = System.Text.Encoding.UTF8,
            };
            if (string.IsNullOrEmpty(executable)) psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "npcsdk.dll"));
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            if (stdin != null)
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(120_000))
            {
                p.Kill(true);
                throw new TimeoutException("npcsdk " + string.Join(" ", args));
            }
            return new Result(p.ExitCode, stdout, stderr.Result);
        }
    }
}
