using System;
using System.IO;
using System.Linq;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Saves;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Tests.Generation
{
    public sealed class SessionSaveTests : IDisposable
    {
        private static readonly string NpcModel = TestPaths.Model("npc-q8_0.gguf");
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "npcsdk-saves-" + Guid.NewGuid().ToString("N"));
        private readonly Model _model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });

        public SessionSaveTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            _model.Dispose();
            Directory.Delete(_dir, true);
        }

        private int[] Prompt => _model.Tokenizer.Encode("<|im_start|>system\nYou are Mira, the innkeeper.\nInventory:\n- ale: 2 gold<|im_end|>\n<|im_start|>user\nWhat's the news tonight?<|im_end|>\n<|im_start|>assistant\n", true, true);

        private static SamplerChain Sampler() => new SamplerChain(new SamplingOptions { Temperature = 1.0f, TopK = 0, MinP = 0f, Seed = 77 });

        private static GenerationRequest Request(int[] tokens, int max, SamplerChain sampler) =>
            new GenerationRequest { Tokens = tokens, MaxTokens = max, Sampler = sampler, StopAtEndOfGeneration = false };

        private byte[] SaveAfter(int tokens, out int[] firstPart)
        {
            using var session = _model.CreateSession();
            var sampler = Sampler();
            firstPart = session.Run(Request(Prompt, tokens, sampler)).Tokens.ToArray();
            var ms = new MemoryStream();
            session.SaveState(ms, sampler);
            return ms.ToArray();
        }

        [Theory]
        [InlineData(KvCacheType.F16)]
        [InlineData(KvCacheType.F32)]
        [InlineData(KvCacheType.Q8_0)]
        public void Restoring_And_Continuing_Gives_The_Uninterrupted_Tokens(KvCacheType kv)
        {
            int[] uninterrupted;
            using (var s = _model.CreateSession(new SessionOptions { KvCacheType = kv }))
                uninterrupted = s.Run(Request(Prompt, 30, Sampler())).Tokens.ToArray();
            Assert.Equal(30, uninterrupted.Length);

            var ms = new MemoryStream();
            int[] first;
            using (var s = _model.CreateSession(new SessionOptions { KvCacheType = kv }))
            {
                var sampler = Sampler();
                first = s.Run(Request(Prompt, 12, sampler)).Tokens.ToArray();
                s.SaveState(ms, sampler);
            }
            ms.Position = 0;
            using var restored = InferenceSession.Load(_model, ms, out var restoredSampler);
            Assert.Equal(kv, restored.KvCacheType);
            // The last sampled token is not yet in the session: continuing feeds it, as the uninterrupted run did.
            var rest = restored.Run(Request(new[] { first[^1] }, 18, restoredSampler!)).Tokens.ToArray();
            Assert.Equal(uninterrupted, first.Concat(rest).ToArray());
        }

        [Fact]
        public void Every_Truncation_And_Bit_Flip_Is_A_Typed_Error()
        {
            byte[] save = SaveAfter(6, out _);
            for (int i = 0; i < 16; i++)
            {
                int len = save.Length * i / 16;
                var e = Assert.Throws<SaveCorruptException>(() => InferenceSession.Load(_model, new MemoryStream(save, 0, len)));
                Assert.Contains(e.Problem, new[] { SaveProblem.Truncated, SaveProblem.ChecksumMismatch, SaveProblem.NotASave });
            }
            var rng = new Random(9);
            for (int i = 0; i < 200; i++)
            {
                var bad = (byte[])save.Clone();
                bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
                var e = Assert.Throws<SaveCorruptException>(() => InferenceSession.Load(_model, new MemoryStream(bad)));
                Assert.False(string.IsNullOrEmpty(e.Message));
            }
        }

        [Fact]
        public void A_Save_From_Another_Model_Or_Version_Is_Refused_By_Name()
        {
            byte[] save = SaveAfter(4, out _);
            using (var other = Model.Load(TestPaths.Model("npc-f16.gguf"), new ModelOptions { Threads = 1 }))
            {
                var e = Assert.Throws<SaveCorruptException>(() => InferenceSession.Load(other, new MemoryStream(save)));
                Assert.Equal(SaveProblem.WrongModel, e.Problem);
                Assert.Contains("npc-f16.gguf", e.Message);
            }
            // A version bump with a valid checksum: re-sign the modified bytes.
            var v2 = (byte[])save.Clone();
            v2[8] = 2;
            using (var sha = System.Security.Cryptography.SHA256.Create())
                sha.ComputeHash(v2, 0, v2.Length - 32).CopyTo(v2, v2.Length - 32);
            var ve = Assert.Throws<SaveCorruptException>(() => InferenceSession.Load(_model, new MemoryStream(v2)));
            Assert.Equal(SaveProblem.UnsupportedVersion, ve.Problem);
            Assert.Contains("version 2", ve.Message);
        }

        [Fact]
        public void File_Saves_Replace_Atomically_And_A_Failed_Save_Leaves_The_Old_One_Loadable()
        {
            string path = Path.Combine(_dir, "npc.save");
            using var session = _model.CreateSession();
            session.Evaluate(Prompt);
            session.SaveStateToFile(path);
            int savedPosition = session.Position;

            // A save that fails midway (here: the session has unevaluated tokens) must not touch the old file.
            session.Run(new GenerationRequest { Tokens = Array.Empty<int>(), MaxTokens = 3, Sampling = SamplingOptions.Greedy });
            var broken = _model.CreateSession();
            broken.Evaluate(Prompt);
            var job = new NpcSdk.Scheduling.FrameScheduler();
            job.Submit(broken, new GenerationRequest { Tokens = new[] { 10, 11, 12 } });
            Assert.ThrowsAny<InvalidOperationException>(() => broken.SaveStateToFile(path));
            job.Dispose();

            using (var loaded = InferenceSession.LoadFromFile(_model, path, out _))
                Assert.Equal(savedPosition, loaded.Position);

            // A later good save replaces it.
            session.SaveStateToFile(path);
            using (var loaded = InferenceSession.LoadFromFile(_model, path, out _))
                Assert.Equal(session.Position, loaded.Position);
        }

        [Fact]
        public void A_Session_On_A_Shared_Prefix_Saves_Only_Its_Own_Rows_And_Restores_Without_The_Registry()
        {
            var persona = Prompt.Take(20).ToArray();
            var prefix = _model.CreatePrefix(persona);
            var s = _model.CreateSession();
            s.Evaluate(Prompt);
            Assert.Equal(20, s.SharedPrefixLength);
            var ms = new MemoryStream();
            s.SaveState(ms);
            _model.Prefixes.Remove(prefix);
            ms.Position = 0;
            using var restored = InferenceSession.Load(_model, ms);
            Assert.Equal(s.Tokens, restored.Tokens);
            Assert.True(s.Logits.SequenceEqual(restored.Logits.ToArray()));
            var next = new[] { 42 };
            s.Evaluate(next);
            restored.Evaluate(next);
            Assert.True(s.Logits.SequenceEqual(restored.Logits.ToArray()));
        }
    }
}
