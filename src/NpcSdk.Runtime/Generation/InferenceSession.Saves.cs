using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using MessagePack;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Saves;

namespace NpcSdk.Generation
{
    public sealed partial class InferenceSession
    {
        // A MessagePack payload in a SaveEnvelope (magic, version, SHA-256).
        private const string SaveMagic = "NPCSESS1";
        private const uint SaveVersion = 1;

        /// <summary>
        /// Writes the session (model identity, tokens, KV cache, last logits) and optionally a sampler's settings and
        /// random state, so that loading and continuing gives exactly the tokens an uninterrupted run would.
        /// </summary>
        public void SaveState(Stream stream, SamplerChain? sampler = null)
        {
            ThrowIfBusy();
            if (HasWork) throw new InvalidOperationException("the session has unevaluated tokens");
            var buffer = new ArrayBufferWriter<byte>();
            var w = new MessagePackWriter(buffer);
            w.WriteMapHeader(10);
            w.Write("model"); w.Write(_model.Identity);
            w.Write("kv_type"); w.Write((int)_cache.Type);
            w.Write("context"); w.Write(ContextLength);
            w.Write("tokens"); WriteInts(ref w, _tokens);
            w.Write("turns"); WriteInts(ref w, _turnStarts);
            w.Write("pinned"); w.Write(PinnedLength);
            w.Write("shared"); w.Write(_cache.SharedLength);
            w.Write("kv");
            int own = Position - _cache.SharedLength;
            w.WriteArrayHeader(_cache.Layers * 2);
            var rows = new byte[Math.Max(1, own * _cache.RowBytes)];
            for (int l = 0; l < _cache.Layers; l++)
                for (int kv = 0; kv < 2; kv++)
                {
                    for (int p = 0; p < own; p++) _cache.RawRow(l, _cache.SharedLength + p, kv == 0).CopyTo(rows.AsSpan(p * _cache.RowBytes));
                    w.Write(rows.AsSpan(0, own * _cache.RowBytes));
                }
            w.Write("logits");
            if (_hasLogits) w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_logits.AsSpan()));
            else w.WriteNil();
            w.Write("sampler");
            if (sampler != null) WriteSampler(ref w, sampler);
            else w.WriteNil();
            w.Flush();
            byte[] bytes = SaveEnvelope.Wrap(SaveMagic, SaveVersion, buffer.WrittenSpan);
            stream.Write(bytes, 0, bytes.Length);
        }

        /// <summary>Saves to a file atomically: a temporary file is written and flushed, then renamed over the old save.</summary>
        public void SaveStateToFile(string path, SamplerChain? sampler = null)
        {
            var ms = new MemoryStream();
            SaveState(ms, sampler);
            SaveEnvelope.WriteFileAtomic(path, ms.ToArray());
        }

        /// <summary>Restores a session saved with <see cref="SaveState"/> on the same model.</summary>
        /// <exception cref="SaveCorruptException">Truncated, damaged, of another version or another model.</exception>
        public static InferenceSession Load(Model model, Stream stream, SessionOptions? options = null) => Load(model, stream, out _, options);

        /// <summary>Restores a session and the sampler saved with it (null when none was saved).</summary>
        /// <exception cref="SaveCorruptException">Truncated, damaged, of another version or another model.</exception>
        public static InferenceSession Load(Model model, Stream stream, out SamplerChain? sampler, SessionOptions? options = null)
        {
            byte[] bytes;
            using (var ms = new MemoryStream())
            {
                stream.CopyTo(ms);
                bytes = ms.ToArray();
            }
            return Load(model, bytes, out sampler, options);
        }

        /// <summary>Restores a session from a file written by <see cref="SaveStateToFile"/>.</summary>
        public static InferenceSession LoadFromFile(Model model, string path, out SamplerChain? sampler, SessionOptions? options = null)
        {
            return Load(model, File.ReadAllBytes(path), out sampler, options);
        }

        private static InferenceSession Load(Model model, byte[] bytes, out SamplerChain? sampler, SessionOptions? options)
        {
            var payload = SaveEnvelope.Unwrap(bytes, SaveMagic, SaveVersion, "session save");
            try
            {
                return Parse(model, payload, out sampler, options);
            }
            catch (Exception e) when (e is MessagePackSerializationException || e is EndOfStreamException || e is InvalidOperationException || e is ArgumentException || e is OverflowException)
            {
                throw new SaveCorruptException(SaveProblem.Malformed, "save content is malformed: " + e.Message, e);
            }
        }

        private static InferenceSession Parse(Model model, ReadOnlyMemory<byte> payload, out SamplerChain? sampler, SessionOptions? options)
        {
            var r = new MessagePackReader(payload);
            int n = r.ReadMapHeader();
            string? identity = null;
            int kvType = -1, context = 0, pinned = 0, shared = 0;
            int[] tokens = Array.Empty<int>(), turns = Array.Empty<int>();
            var kvBlobs = new List<byte[]>();
            byte[]? logits = null;
            sampler = null;
            for (int i = 0; i < n; i++)
            {
                switch (r.ReadString())
                {
                    case "model": identity = r.ReadString(); break;
                    case "kv_type": kvType = r.ReadInt32(); break;
                    case "context": context = r.ReadInt32(); break;
                    case "tokens": tokens = ReadInts(ref r); break;
                    case "turns": turns = ReadInts(ref r); break;
                    case "pinned": pinned = r.ReadInt32(); break;
                    case "shared": shared = r.ReadInt32(); break;
                    case "kv":
                        int blobs = r.ReadArrayHeader();
                        for (int b = 0; b < blobs; b++) kvBlobs.Add(r.ReadBytes()?.ToArray() ?? Array.Empty<byte>());
                        break;
                    case "logits": logits = r.TryReadNil() ? null : r.ReadBytes()?.ToArray(); break;
                    case "sampler": sampler = r.TryReadNil() ? null : ReadSampler(ref r); break;
                    default: r.Skip(); break;
                }
            }
            if (identity != model.Identity)
                throw new SaveCorruptException(SaveProblem.WrongModel, $"save was made with another model (identity {identity ?? "missing"}), not {model.File.Source}");
            options ??= new SessionOptions();
            if (kvType < 0 || kvType > (int)KvCacheType.Q8_0) throw new InvalidOperationException($"unknown KV cache type {kvType}");
            options = new SessionOptions
            {
                ContextLength = context,
                KvCacheType = (KvCacheType)kvType,
                BatchSize = options.BatchSize,
                DropOldTurnsOnOverflow = options.DropOldTurnsOnOverflow,
                Summarizer = options.Summarizer,
            };
            if (context <= 0 || tokens.Length > context || shared < 0 || shared > tokens.Length || pinned < 0 || pinned > tokens.Length)
                throw new InvalidOperationException($"inconsistent lengths (context {context}, tokens {tokens.Length}, shared {shared}, pinned {pinned})");
            foreach (int t in tokens) if ((uint)t >= (uint)model.Config.VocabSize) throw new InvalidOperationException($"token id {t} outside the vocabulary");
            if (logits != null && logits.Length != model.Config.VocabSize * 4) throw new InvalidOperationException("logits have the wrong length");

            var session = new InferenceSession(model, options);
            if (shared > 0)
            {
                // The shared prefix is not in the save: reuse a registered one, or recompute it (deterministic, so identical).
                var prefixTokens = new ArraySegment<int>(tokens, 0, shared);
                var prefix = model.Prefixes.FindLongest(prefixTokens, options.KvCacheType);
                if (prefix != null && prefix.Length == shared) session.Cache.AttachShared(prefix.Cache, shared);
                else session.Evaluate(prefixTokens);
            }
            int own = tokens.Length - shared;
            var cache = session.Cache;
            if (kvBlobs.Count != cache.Layers * 2) throw new InvalidOperationException($"KV cache has {kvBlobs.Count} blobs, expected {cache.Layers * 2}");
            for (int l = 0; l < cache.Layers; l++)
                for (int kv = 0; kv < 2; kv++)
                {
                    var blob = kvBlobs[l * 2 + kv];
                    if (blob.Length != own * cache.RowBytes) throw new InvalidOperationException($"KV blob of layer {l} has {blob.Length} bytes, expected {own * cache.RowBytes}");
                    for (int p = 0; p < own; p++) cache.LoadRow(l, shared + p, kv == 0, blob.AsSpan(p * cache.RowBytes, cache.RowBytes));
                }
            float[]? logitValues = null;
            if (logits != null)
            {
                logitValues = new float[model.Config.VocabSize];
                Buffer.BlockCopy(logits, 0, logitValues, 0, logits.Length);
            }
            session.RestoreState(tokens, turns, pinned, logitValues);
            return session;
        }

        private static void WriteInts(ref MessagePackWriter w, IReadOnlyList<int> values)
        {
            w.WriteArrayHeader(values.Count);
            foreach (int v in values) w.Write(v);
        }

        private static int[] ReadInts(ref MessagePackReader r)
        {
            int n = r.ReadArrayHeader();
            if (n < 0 || n > r.Sequence.Length) throw new InvalidOperationException($"array of {n} items in {r.Sequence.Length} bytes");
            var a = new int[n];
            for (int i = 0; i < n; i++) a[i] = r.ReadInt32();
            return a;
        }

        private static void WriteSampler(ref MessagePackWriter w, SamplerChain sampler)
        {
            var o = sampler.Options;
            w.WriteMapHeader(11);
            w.Write("temperature"); w.Write(o.Temperature);
            w.Write("top_k"); w.Write(o.TopK);
            w.Write("top_p"); w.Write(o.TopP);
            w.Write("min_p"); w.Write(o.MinP);
            w.Write("repeat"); w.Write(o.RepeatPenalty);
            w.Write("presence"); w.Write(o.PresencePenalty);
            w.Write("frequency"); w.Write(o.FrequencyPenalty);
            w.Write("last_n"); w.Write(o.PenaltyLastN);
            w.Write("seed"); w.Write(o.Seed);
            w.Write("bias");
            var bias = o.LogitBias ?? new Dictionary<int, float>();
            w.WriteMapHeader(bias.Count);
            foreach (var kv in bias) { w.Write(kv.Key); w.Write(kv.Value); }
            w.Write("rng");
            var state = sampler.Random.GetState();
            w.WriteArrayHeader(state.Length);
            foreach (ulong s in state) w.Write(s);
        }

        private static SamplerChain ReadSampler(ref MessagePackReader r)
        {
            var o = new SamplingOptions();
            ulong[]? rng = null;
            int n = r.ReadMapHeader();
            for (int i = 0; i < n; i++)
            {
                switch (r.ReadString())
                {
                    case "temperature": o.Temperature = r.ReadSingle(); break;
                    case "top_k": o.TopK = r.ReadInt32(); break;
                    case "top_p": o.TopP = r.ReadSingle(); break;
                    case "min_p": o.MinP = r.ReadSingle(); break;
                    case "repeat": o.RepeatPenalty = r.ReadSingle(); break;
                    case "presence": o.PresencePenalty = r.ReadSingle(); break;
                    case "frequency": o.FrequencyPenalty = r.ReadSingle(); break;
                    case "last_n": o.PenaltyLastN = r.ReadInt32(); break;
                    case "seed": o.Seed = r.ReadUInt64(); break;
                    case "bias":
                        int m = r.ReadMapHeader();
                        var bias = new Dictionary<int, float>();
                        for (int j = 0; j < m; j++) bias[r.ReadInt32()] = r.ReadSingle();
                        o.LogitBias = bias;
                        break;
                    case "rng":
                        int k = r.ReadArrayHeader();
                        rng = new ulong[k];
                        for (int j = 0; j < k; j++) rng[j] = r.ReadUInt64();
                        break;
                    default: r.Skip(); break;
                }
            }
            var chain = new SamplerChain(o);
            if (rng != null) chain.Random.SetState(rng);
            return chain;
        }
    }
}
