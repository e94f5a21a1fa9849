using System;
using System.CommandLine;
using System.IO;
using System.Text;
using NpcSdk.Gguf;
using NpcSdk.Generation;
using NpcSdk.Models;

namespace NpcSdk.Cli.Commands
{
    /// <summary>Options and error handling shared by the commands.</summary>
    internal static class CliOptions
    {
        public static Option<string> Model() => new Option<string>("--model", "-m") { Description = "Path to a GGUF model", Required = true };

        public static Option<bool> Json() => new Option<bool>("--json") { Description = "Print machine-readable JSON" };

        public static Option<bool> Special() => new Option<bool>("--special") { Description = "Parse control tokens written in the text (e.g. <|im_start|>)" };

        public static Option<int> Threads() => new Option<int>("--threads", "-t")
        {
            Description = "Compute threads (default: cores - 1)",
            DefaultValueFactory = _ => new ModelOptions().Threads,
        };

        public static Option<string> Backend() => new Option<string>("--backend") { Description = "Kernels: managed (llama.cpp's arithmetic to the bit), native or auto", DefaultValueFactory = _ => "managed" };

        public static KernelBackend ParseBackend(string value) => value.ToLowerInvariant() switch
        {
            "managed" => KernelBackend.Managed,
            "native" => KernelBackend.Native,
            "auto" => KernelBackend.Auto,
            _ => throw new ArgumentException($"--backend must be managed, native or auto, not '{value}'"),
        };

        /// <summary>Reads the exact UTF-8 bytes of a file (no trimming).</summary>
        public static string ReadTextFile(string path)
        {
            return new UTF8Encoding(false, true).GetString(File.ReadAllBytes(path));
        }

        /// <summary>Runs a command body, turning the runtime's typed errors into one clear line on stderr and exit code 1.</summary>
        public static int Guard(Func<int> body)
        {
            try
            {
                return body();
            }
            catch (Exception e) when (e is GgufFormatException || e is ModelNotSupportedException || e is FileNotFoundException
                                      || e is ContextFullException || e is DecoderFallbackException || e is ArgumentException
                                      || e is Tokenization.TokenizerNotSupportedException || e is Saves.SaveCorruptException
                                      || e is Quantization.QuantizationException || e is DirectoryNotFoundException || e is UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }

        public static void WriteIntArray(System.Text.Json.Utf8JsonWriter w, string name, System.Collections.Generic.IEnumerable<int> ids)
        {
            w.WriteStartArray(name);
            foreach (int id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
        }

        public static System.Text.Json.Utf8JsonWriter JsonWriter(Stream s) =>
            new System.Text.Json.Utf8JsonWriter(s, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
