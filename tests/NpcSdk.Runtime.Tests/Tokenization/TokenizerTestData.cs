using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NpcSdk.Gguf;
using NpcSdk.Tokenization;

namespace NpcSdk.Tests.Tokenization
{
    /// <summary>The vocabularies with llama.cpp reference data (tests/data/reference/tokenizer_*.json) and where their GGUFs are.</summary>
    internal static class TokenizerTestData
    {
        private static readonly object s_lock = new object();
        private static readonly Dictionary<string, GgufTokenizer> s_loaded = new Dictionary<string, GgufTokenizer>();

        /// <summary>The reference vocabularies: the name in tokenizer_&lt;name&gt;.json.</summary>
        public static readonly string[] Vocabularies = { "llama-spm", "llama-bpe", "qwen2", "gpt-2", "stories260K", "npc" };

        public static string GgufPath(string vocabulary)
        {
            switch (vocabulary)
            {
                case "stories260K": return TestPaths.Model("stories260K.gguf");
                case "npc": return TestPaths.Model("npc-q8_0.gguf");
                default: return TestPaths.Data("vocab", $"ggml-vocab-{vocabulary}.gguf");
            }
        }

        /// <summary>The tokenizer of a vocabulary name or GGUF file name, built once per test run.</summary>
        public static GgufTokenizer Load(string vocabularyOrFile)
        {
            string path = vocabularyOrFile.EndsWith(".gguf", StringComparison.Ordinal) ? TestPaths.Model(vocabularyOrFile) : GgufPath(vocabularyOrFile);
            lock (s_lock)
            {
                if (!s_loaded.TryGetValue(path, out GgufTokenizer? tokenizer))
                {
                    using GgufFile file = GgufFile.Open(path);
                    tokenizer = GgufTokenizer.FromGguf(file);
                    s_loaded[path] = tokenizer;
                }
                return tokenizer;
            }
        }

        private static readonly Dictionary<string, JsonElement> s_references = new Dictionary<string, JsonElement>();

        /// <summary>The parsed tokenizer_&lt;vocabulary&gt;.json.</summary>
        public static JsonElement Reference(string vocabulary)
        {
            lock (s_lock)
            {
                if (!s_references.TryGetValue(vocabulary, out JsonElement root))
                {
                    using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Data("reference", $"tokenizer_{vocabulary}.json")));
                    root = doc.RootElement.Clone();
                    s_references[vocabulary] = root;
                }
                return root;
            }
        }

        public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

        private static readonly System.Text.UTF8Encoding s_strictUtf8 = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true);

        public static bool IsValidUtf8(byte[] bytes)
        {
            try
            {
                s_strictUtf8.GetCharCount(bytes);
                return true;
            }
            catch (System.Text.DecoderFallbackException)
            {
                return false;
            }
        }

        public static byte[] Hex(string hex)
        {
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
            return bytes;
        }
    }
}
