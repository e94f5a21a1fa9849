using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NpcSdk.Generation;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Quantization;
using NpcSdk.Sampling;
using NpcSdk.Tensors;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.Quantization
{
    /// <summary>
    /// The fixtures fx-*-TYPE.gguf and the bundled models/npc-q8_0.gguf were written by llama-quantize (no imatrix):
    /// quantizing their sources must reproduce every tensor's type and bytes.
    /// </summary>
    public sealed class ModelQuantizerTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "npcsdk-quantize-" + Guid.NewGuid().ToString("N"));

        public ModelQuantizerTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        public static TheoryData<string, string> Fixtures => new TheoryData<string, string>
        {
            { "fx-llama", "Q8_0" }, { "fx-llama", "Q4_0" }, { "fx-llama", "Q4_1" }, { "fx-llama", "Q5_0" },
            { "fx-llama", "Q5_1" }, { "fx-llama", "Q4_K_M" }, { "fx-llama", "Q5_K_M" }, { "fx-llama", "Q6_K" },
            { "fx-llama", "Q2_K" }, { "fx-llama", "Q3_K_M" }, { "fx-llama", "F16" }, { "fx-llama", "BF16" },
            { "fx-qwen2", "Q8_0" }, { "fx-qwen2", "Q4_K_M" },
        };

        [Theory]
        [MemberData(nameof(Fixtures))]
        public void Quantizing_The_F32_Fixture_Reproduces_LlamaQuantize_Tensor_Bytes(string model, string type)
        {
            string output = Path.Combine(_dir, $"{model}-{type}.gguf");
            var result = ModelQuantizer.Quantize(TestPaths.Data("fixtures", model + "-F32.gguf"), output, QuantizationMix.Parse(type), new QuantizationOptions { Threads = 2 });
            string expected = TestPaths.Data("fixtures", $"{model}-{type}.gguf");

            AssertSameTensors(expected, output);
            // Same metadata, order, alignment and padding too: the whole file is llama-quantize's.
            Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(output));
            Assert.Equal(new FileInfo(expected).Length, result.OutputFileBytes);
        }

        /// <remarks>
        /// The bundled Q8_0 was not quantized from npc-f16.gguf but from the F32 training weights that npc-f16 rounds
        /// (its block scales are fp16(amax32 / 127) where amax32 is within half an fp16 ulp of npc-f16's amax, and its
        /// tensor order is not llama-quantize's), so bytes can only match where the F16 rounding does not move a
        /// value across a rounding boundary: scales within one fp16 ulp, quants within one step.
        /// </remarks>
        [Fact]
        public void Npc_F16_To_Q8_0_Matches_The_Bundled_Model_Up_To_The_F16_Rounding_Of_Its_Source()
        {
            string output = Path.Combine(_dir, "npc-q8_0.gguf");
            ModelQuantizer.Quantize(TestPaths.Model("npc-f16.gguf"), output, QuantizationMix.Parse("Q8_0"));
            using var bundled = GgufFile.Open(TestPaths.Model("npc-q8_0.gguf"));
            using var ours = GgufFile.Open(output);
            Assert.Equal(7, ours.GetInt64("general.file_type"));
            Assert.Equal(2, ours.GetInt64("general.quantization_version"));
            Assert.Equal(bundled.Tensors.Count, ours.Tensors.Count);
            long bytes = 0, same = 0, quants = 0, sameQuants = 0;
            foreach (GgufTensorInfo b in bundled.Tensors)
            {
                GgufTensorInfo o = ours.GetTensor(b.Name);
                Assert.True(b.Type == o.Type, $"{b.Name}: type {o.Type}, bundled {b.Type}");
                Assert.Equal(b.Shape, o.Shape);
                ReadOnlySpan<byte> x = bundled.TensorData(b), y = ours.TensorData(o);
                if (b.Type == TensorType.F32)
                {
                    Assert.True(x.SequenceEqual(y), $"{b.Name} is copied unchanged");
                    continue;
                }
                for (int block = 0; block < x.Length / 34; block++)
                {
                    ReadOnlySpan<byte> bx = x.Slice(block * 34, 34), by = y.Slice(block * 34, 34);
                    int scaleX = bx[0] | bx[1] << 8, scaleY = by[0] | by[1] << 8;
                    Assert.True(Math.Abs(scaleX - scaleY) <= 1, $"{b.Name} block {block}: scale 0x{scaleY:X4}, bundled 0x{scaleX:X4}");
                    for (int j = 2; j < 34; j++)
                    {
                        Assert.True(Math.Abs((sbyte)bx[j] - (sbyte)by[j]) <= 1, $"{b.Name} block {block} quant {j - 2}: {(sbyte)by[j]}, bundled {(sbyte)bx[j]}");
                        sameQuants += bx[j] == by[j] ? 1 : 0;
                    }
                    quants += 32;
                }
                bytes += x.Length;
                for (int i = 0; i < x.Length; i++) same += x[i] == y[i] ? 1 : 0;
            }
            double identical = (double)same / bytes, identicalQuants = (double)sameQuants / quants;
            Assert.True(identicalQuants > 0.985, $"{identicalQuants:P3} of quants ({identical:P3} of bytes) identical");
        }

        [Fact]
        public void Npc_F16_To_Q4_K_M_Uses_Fallbacks_For_384_Wide_Rows_And_Still_Answers_Like_The_F16_Model()
        {
            string output = Path.Combine(_dir, "npc-q4_k_m.gguf");
            var result = ModelQuantizer.Quantize(TestPaths.Model("npc-f16.gguf"), output, QuantizationMix.Parse("Q4_K_M"));

            // 384 is not a multiple of 256: Q4_K -> Q5_0, Q6_K -> Q8_0; ffn_down (1024-wide rows) keeps K-quants.
            // use_more_bits over 8 layers picks layers 0, 3, 6 and 7 for attn_v and ffn_down.
            var types = result.Tensors.ToDictionary(t => t.Name, t => t.TargetType);
            Assert.Equal(TensorType.Q8_0, types["token_embd.weight"]); // tied output
            for (int layer = 0; layer < 8; layer++)
            {
                bool more = layer == 0 || layer == 3 || layer == 6 || layer == 7;
                Assert.Equal(TensorType.Q5_0, types[$"blk.{layer}.attn_q.weight"]);
                Assert.Equal(TensorType.Q5_0, types[$"blk.{layer}.ffn_up.weight"]);
                Assert.Equal(more ? TensorType.Q8_0 : TensorType.Q5_0, types[$"blk.{layer}.attn_v.weight"]);
                Assert.Equal(more ? TensorType.Q6_K : TensorType.Q4_K, types[$"blk.{layer}.ffn_down.weight"]);
                Assert.Equal(TensorType.F32, types[$"blk.{layer}.attn_norm.weight"]);
            }
            Assert.Equal(8 * 6, result.Tensors.Count(t => t.FellBack)); // every 384-wide layer matrix (token_embd goes to Q8_0 directly)
            Assert.True(result.OutputFileBytes < new FileInfo(TestPaths.Model("npc-q8_0.gguf")).Length);

            const string prompt = "<|im_start|>system\nYou are Brom Ironhand, the blacksmith of Oakvale.\nPersonality: gruff.\nInventory:\n- iron sword: 12 gold\nMemories: none\nTools:\n- sell_item(item, price): sell an item from your inventory to the player<|im_end|>\n<|im_start|>user\nHow much for the iron sword?<|im_end|>\n<|im_start|>assistant\n";
            using var f16 = Model.Load(TestPaths.Model("npc-f16.gguf"), new ModelOptions { Threads = 1 });
            using var q4 = Model.Load(output, new ModelOptions { Threads = 1 });
            int[] ids = q4.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
            int[] expected = TopIds(f16, ids), actual = TopIds(q4, ids);
            double agreement = expected.Zip(actual, (a, b) => a == b ? 1.0 : 0.0).Average();
            Assert.True(agreement >= 0.85, $"top-1 agreement with F16 {agreement:P0}");

            using var session = q4.CreateSession(new SessionOptions { KvCacheType = KvCacheType.F32 });
            int[] reply = session.Generate(ids, 48, new SamplerChain(SamplingOptions.Greedy)).ToArray();
            Assert.True(q4.Tokenizer.IsEndOfGeneration(reply[reply.Length - 1]), "the reply ends with <|im_end|>");
            Assert.Contains("12", q4.Tokenizer.Decode(reply));
        }

        [Fact]
        public void Quantized_Input_Is_Refused_Unless_Requantizing_Is_Allowed()
        {
            string input = TestPaths.Data("fixtures", "fx-llama-Q8_0.gguf");
            string output = Path.Combine(_dir, "requantized.gguf");
            var e = Assert.Throws<QuantizationException>(() => ModelQuantizer.Quantize(input, output, QuantizationMix.Parse("Q4_0")));
            Assert.Contains("output.weight", e.Message);
            Assert.False(File.Exists(output));

            ModelQuantizer.Quantize(input, output, QuantizationMix.Parse("Q4_0"), new QuantizationOptions { AllowRequantize = true });
            using var file = GgufFile.Open(output);
            Assert.Equal(TensorType.Q4_0, file.GetTensor("blk.0.attn_q.weight").Type);
            Assert.Equal(TensorType.Q6_K, file.GetTensor("output.weight").Type); // the legacy mixes keep the output at Q6_K
        }

        [Fact]
        public void Qwen2_0_5B_Shapes_Fall_Back_Like_LlamaQuantize()
        {
            // Qwen2.5-0.5B: 896-wide rows (not whole 256-blocks), ffn 4864 (19 x 256), tied embeddings, 24 layers.
            string path = Path.Combine(_dir, "qwen2-shapes.gguf");
            var w = new GgufWriter();
            w.Set("general.architecture", GgufValue.Of("qwen2"));
            w.Set("qwen2.block_count", GgufValue.Of(24u));
            w.Set("qwen2.attention.head_count", GgufValue.Of(14u));
            w.Set("qwen2.attention.head_count_kv", GgufValue.Of(2u));
            void Add(string name, params long[] shape) => w.AddTensor(name, TensorType.F32, shape, new byte[shape.Aggregate(4L, (a, b) => a * b)]);
            Add("token_embd.weight", 896, 4);
            Add("output_norm.weight", 896);
            for (int i = 0; i < 24; i++)
            {
                Add($"blk.{i}.attn_norm.weight", 896);
                Add($"blk.{i}.attn_q.weight", 896, 2);
                Add($"blk.{i}.attn_q.bias", 896);
                Add($"blk.{i}.attn_v.weight", 896, 2);
                Add($"blk.{i}.ffn_down.weight", 4864, 2);
                Add($"blk.{i}.ffn_gate.weight", 896, 1, 1);
                Add($"blk.{i}.ffn_up.weight", 896, 2);
            }
            w.WriteTo(path);

            using var file = GgufFile.Open(path);
            var plan = ModelQuantizer.Plan(file, QuantizationMix.Parse("Q4_K_M")).ToDictionary(t => t.Name);
            Assert.Equal(TensorType.Q8_0, plan["token_embd.weight"].TargetType);
            Assert.Equal(TensorType.F32, plan["blk.0.attn_q.bias"].TargetType);
            var moreBits = new HashSet<int> { 0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23 };
            for (int i = 0; i < 24; i++)
            {
                Assert.Equal(TensorType.Q5_0, plan[$"blk.{i}.attn_q.weight"].TargetType);
                Assert.Equal(TensorType.Q5_0, plan[$"blk.{i}.ffn_up.weight"].TargetType);
                Assert.Equal(moreBits.Contains(i) ? TensorType.Q8_0 : TensorType.Q5_0, plan[$"blk.{i}.attn_v.weight"].TargetType);
                Assert.Equal(moreBits.Contains(i) ? TensorType.Q6_K : TensorType.Q4_K, plan[$"blk.{i}.ffn_down.weight"].TargetType);
                // [896, 1, 1] is a 1-D tensor to ggml: written as such, and not quantized.
                Assert.Equal(TensorType.F32, plan[$"blk.{i}.ffn_gate.weight"].TargetType);
                Assert.Equal(new long[] { 896 }, plan[$"blk.{i}.ffn_gate.weight"].Shape);
            }
            Assert.True(plan["blk.0.attn_q.weight"].FellBack);
            Assert.False(plan["blk.0.attn_q.bias"].FellBack);
        }

        [Fact]
        public void Unknown_Mix_Names_List_The_Known_Ones()
        {
            var e = Assert.Throws<ArgumentException>(() => QuantizationMix.Parse("Q4_K_X"));
            Assert.Contains("Q4_K_M", e.Message);
            Assert.Equal(15, QuantizationMix.Parse("q4_k_m").FileType);
        }

        [Fact]
        public void Tensors_Are_Ordered_Like_LlamaQuantize()
        {
            var names = new[] { "blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight", "output.weight", "blk.2.attn_k.weight", "output_norm.weight" };
            Assert.Equal(
                new[] { "output.weight", "output_norm.weight", "token_embd.weight", "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight" },
                names.OrderBy(n => n, ModelQuantizer.SortOrder));
        }

        private static int[] TopIds(Model model, int[] ids)
        {
            using var session = model.CreateSession(new SessionOptions { KvCacheType = KvCacheType.F32 });
            var top = new int[ids.Length];
            session.Evaluate(ids, (pos, logits) => top[pos] = Array.IndexOf(logits, logits.Max()));
            return top;
        }

        private static void AssertSameTensors(string expectedPath, string actualPath)
        {
            using var expected = GgufFile.Open(expectedPath);
            using var actual = GgufFile.Open(actualPath);
            Assert.Equal(expected.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal), actual.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
            foreach (GgufTensorInfo e in expected.Tensors)
            {
                GgufTensorInfo a = actual.GetTensor(e.Name);
                Assert.True(e.Type == a.Type, $"{e.Name}: type {a.Type}, llama-quantize wrote {e.Type}");
                Assert.Equal(e.Shape, a.Shape);
                ReadOnlySpan<byte> x = expected.TensorData(e), y = actual.TensorData(a);
                if (!x.SequenceEqual(y))
                {
                    int at = 0;
                    while (x[at] == y[at]) at++;
                    Assert.Fail($"{e.Name} ({e.Type}): first differing byte {at} of {x.Length}");
                }
            }
        }
    }
}
