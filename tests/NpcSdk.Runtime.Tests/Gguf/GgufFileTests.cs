using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Tensors;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Tests.Gguf
{
    public sealed class GgufFileTests
    {
        private static readonly string Fixture = TestPaths.Data("fixtures", "fx-llama-Q4_0.gguf");

        [Fact]
        public void Opens_Fixture_With_Metadata_And_Tensors_Matching_The_Manifest()
        {
            using var f = GgufFile.Open(Fixture);
            Assert.Equal(3, f.Version);
            Assert.Equal("llama", f.GetString("general.architecture"));
            Assert.Equal(256, f.GetInt64("llama.embedding_length"));
            Assert.Equal(512, f.GetArray<string>("tokenizer.ggml.tokens")!.Length);
            var q = f.GetTensor("blk.0.attn_q.weight");
            Assert.Equal(TensorType.Q4_0, q.Type);
            Assert.Equal(new long[] { 256, 256 }, q.Shape);
            Assert.Equal(TensorTypeInfo.RowBytes(TensorType.Q4_0, 256) * 256, q.ByteSize);
            Assert.Equal(TensorType.Q6_K, f.GetTensor("output.weight").Type);
        }

        [Fact]
        public void Writer_Round_Trips_Metadata_And_Tensor_Bytes()
        {
            using var src = GgufFile.Open(Fixture);
            var w = new GgufWriter().CopyMetadata(src);
            w.Set("npcsdk.test.array", new GgufValue(GgufValueType.Array, new[] { 1.5, -2.0 }, GgufValueType.Float64));
            foreach (var t in src.Tensors) w.AddTensor(t.Name, t.Type, t.Shape, src.TensorData(t).ToArray());
            var ms = new MemoryStream();
            w.WriteTo(ms);
            using var copy = GgufFile.FromBytes(ms.ToArray());
            Assert.Equal(src.Tensors.Select(t => t.Name), copy.Tensors.Select(t => t.Name));
            foreach (var t in src.Tensors)
                Assert.True(src.TensorData(t).SequenceEqual(copy.TensorData(copy.GetTensor(t.Name))), t.Name);
            Assert.Equal(src.GetArray<string>("tokenizer.ggml.tokens"), copy.GetArray<string>("tokenizer.ggml.tokens"));
            Assert.Equal(new[] { 1.5, -2.0 }, copy.GetArray<double>("npcsdk.test.array"));
        }

        [Fact]
        public void Large_Arrays_Are_Read_On_Demand_And_Refused_After_Close()
        {
            var words = Enumerable.Range(0, 5000).Select(i => $"w{i}·").ToArray();
            var scores = Enumerable.Range(0, 5000).Select(i => i * 0.25f).ToArray();
            var ms = new MemoryStream();
            new GgufWriter().Set("npcsdk.words", GgufValue.Of(words)).Set("npcsdk.scores", GgufValue.Of(scores)).Set("npcsdk.small", GgufValue.Of(new[] { 1, 2, 3 })).WriteTo(ms);
            var f = GgufFile.FromBytes(ms.ToArray());
            Assert.True(f.TryGetValue("npcsdk.words", out var v));
            Assert.Equal(5000, v.Count);
            Assert.Equal("[String x 5000]", v.ToString());
            var first = f.GetArray<string>("npcsdk.words");
            Assert.Equal(words, first);
            Assert.NotSame(first, f.GetArray<string>("npcsdk.words")); // decoded again, not kept
            Assert.Equal(scores, f.GetArray<float>("npcsdk.scores"));
            Assert.Equal(new[] { 1, 2, 3 }, f.GetArray<int>("npcsdk.small"));
            f.Dispose();
            Assert.Throws<ObjectDisposedException>(() => v.Value);
            Assert.Equal(new[] { 1, 2, 3 }, (int[])f.MetadataEntries.Single(e => e.Key == "npcsdk.small").Value.Value);
        }

        /// <summary>
        /// What parsing (or rejecting) <paramref name="length"/> bytes costs: the wall time, best of up to three tries so a
        /// scheduler hiccup on a loaded machine does not count as the parser's (a hang guard), and the bytes the first
        /// parse allocated (deterministic: a corrupt count must not make the parser allocate beyond what its input holds).
        /// </summary>
        private static (long Millis, long Allocated) ParseCost(byte[] bytes, int length)
        {
            long best = long.MaxValue, allocated = -1;
            for (int attempt = 0; attempt < 3 && best >= HangMillis; attempt++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                try
                {
                    using var _ = GgufFile.FromBytes(bytes.AsSpan(0, length));
                }
                catch (GgufFormatException)
                {
                }
                best = Math.Min(best, sw.ElapsedMilliseconds);
                if (allocated < 0) allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            return (best, allocated);
        }

        // The slowest corrupt header parses in about 20 ms alone; a hang never ends.
        private const long HangMillis = 1000;

        private static void AssertBoundedCost(byte[] bytes, int length, string what)
        {
            var (ms, allocated) = ParseCost(bytes, length);
            Assert.True(ms < HangMillis, $"{what} took {ms} ms");
            // The worst of the 2000 flips below allocates about 10x the file.
            Assert.True(allocated <= 16L * length + (1 << 20), $"{what} allocated {allocated} bytes for {length} bytes of input");
        }

        [Fact]
        public void Every_Truncation_Of_Header_And_First_Tensor_Info_Throws_Format_Error()
        {
            byte[] bytes = File.ReadAllBytes(Fixture);
            long headerEnd;
            using (var f = GgufFile.FromBytes(bytes)) headerEnd = f.DataOffset;
            // Every prefix of the header (metadata and all tensor infos), and prefixes that cut tensor data.
            var lengths = Enumerable.Range(0, (int)headerEnd + 1).Concat(new[] { (int)headerEnd + 100, bytes.Length - 1 });
            foreach (int len in lengths)
            {
                var e = Assert.Throws<GgufFormatException>(() => { using var _ = GgufFile.FromBytes(bytes.AsSpan(0, len)); });
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                AssertBoundedCost(bytes, len, $"prefix {len}");
            }
        }

        [Fact]
        public void Random_Bit_Flips_Either_Parse_Or_Throw_Format_Error()
        {
            byte[] original = File.ReadAllBytes(Fixture);
            int headerEnd;
            using (var f = GgufFile.FromBytes(original)) headerEnd = (int)f.DataOffset;
            var rng = new Random(1234);
            int failures = 0;
            for (int i = 0; i < 2000; i++)
            {
                byte[] bytes = (byte[])original.Clone();
                int flips = 1 + rng.Next(4);
                for (int k = 0; k < flips; k++) bytes[rng.Next(headerEnd)] ^= (byte)(1 << rng.Next(8));
                try
                {
                    using var f = GgufFile.FromBytes(bytes);
                }
                catch (GgufFormatException)
                {
                    failures++;
                }
                AssertBoundedCost(bytes, bytes.Length, $"flip case {i}");
            }
            Assert.True(failures > 100, $"only {failures} of 2000 corruptions were detected");
        }

        [Theory]
        [InlineData(1UL << 60, 0UL, "tensors")]
        [InlineData(0UL, 1UL << 60, "metadata entries")]
        public void Header_Claiming_Huge_Counts_Throws_Without_Allocating(ulong tensors, ulong kvs, string expected)
        {
            var ms = new MemoryStream();
            var w = new BinaryWriter(ms);
            w.Write(0x46554747u); w.Write(3u); w.Write(tensors); w.Write(kvs);
            w.Write(new byte[64]);
            byte[] bytes = ms.ToArray();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(bytes));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the claimed counts were allocated");
            Assert.Contains(expected, e.Message);
        }

        [Fact]
        public void String_Claiming_Huge_Length_Throws_Naming_The_Offset()
        {
            var ms = new MemoryStream();
            var w = new BinaryWriter(ms);
            w.Write(0x46554747u); w.Write(3u); w.Write(0UL); w.Write(1UL);
            w.Write(1UL << 60); // key length
            w.Write(new byte[64]);
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(ms.ToArray()));
            Assert.Contains("metadata key", e.Message);
            Assert.Contains("offset 24", e.Message);
        }

        [Fact]
        public void Array_Claiming_Huge_Count_Throws_Naming_The_Key()
        {
            var ms = new MemoryStream();
            var w = new BinaryWriter(ms);
            w.Write(0x46554747u); w.Write(3u); w.Write(0UL); w.Write(1UL);
            w.Write(3UL); w.Write("abc".ToCharArray());
            w.Write((uint)GgufValueType.Array); w.Write((uint)GgufValueType.String); w.Write(1UL << 60);
            w.Write(new byte[64]);
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(ms.ToArray()));
            Assert.Contains("'abc'", e.Message);
        }

        [Fact]
        public void Bad_Magic_And_Version_Are_Named()
        {
            byte[] bytes = File.ReadAllBytes(Fixture);
            var bad = (byte[])bytes.Clone();
            bad[0] = (byte)'X';
            Assert.Contains("magic", Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(bad)).Message);
            bad = (byte[])bytes.Clone();
            bad[4] = 9;
            Assert.Contains("version 9", Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(bad)).Message);
        }

        [Fact]
        public void Unknown_Tensor_Type_Is_Named()
        {
            using var src = GgufFile.Open(Fixture);
            var w = new GgufWriter();
            w.AddTensor("weird", TensorType.F32, new long[] { 4 }, new byte[16]);
            var ms = new MemoryStream();
            w.WriteTo(ms);
            byte[] bytes = ms.ToArray();
            // The type id is the u32 before the tensor's u64 offset: header 24 + name (8 + 5) + n_dims 4 + dim 8.
            int typeAt = 24 + 8 + 5 + 4 + 8;
            BitConverter.GetBytes(99u).CopyTo(bytes, typeAt);
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(bytes));
            Assert.Contains("'weird'", e.Message);
            Assert.Contains("type id 99", e.Message);
        }

        [Fact]
        public void Unsupported_Architecture_Lists_Supported_Ones()
        {
            using var src = GgufFile.Open(Fixture);
            var w = new GgufWriter().CopyMetadata(src);
            w.Set("general.architecture", GgufValue.Of("mamba"));
            foreach (var t in src.Tensors) w.AddTensor(t.Name, t.Type, t.Shape, src.TensorData(t).ToArray());
            string path = Path.Combine(Path.GetTempPath(), $"npcsdk-arch-{Guid.NewGuid():N}.gguf");
            try
            {
                w.WriteTo(path);
                var e = Assert.Throws<ModelNotSupportedException>(() => Model.Load(path));
                Assert.Contains("'mamba'", e.Message);
                Assert.Contains("llama", e.Message);
                Assert.Contains("qwen2", e.Message);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
