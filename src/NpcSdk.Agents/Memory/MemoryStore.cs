using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MessagePack;
using NpcSdk.Saves;

namespace NpcSdk.Agents.Memory
{
    /// <summary>
    /// An NPC's memory stream (Generative Agents): every observation, line and action is a <see cref="MemoryRecord"/>;
    /// retrieval ranks by w_r·recency + w_i·importance + w_v·relevance, each min-max normalised, where
    /// recency = decay^(game hours since last access) and relevance = cosine similarity of embeddings (BM25 without an embedder).
    /// </summary>
    public sealed class MemoryStore
    {
        private const string SaveMagic = "NPCMEM01";
        private const uint SaveVersion = 1;
        private readonly List<MemoryRecord> _records = new List<MemoryRecord>();
        private long _nextId = 1;

        /// <summary>Creates an empty store.</summary>
        public MemoryStore(IEmbedder? embedder = null, MemoryWeights? weights = null)
        {
            Embedder = embedder;
            Weights = weights ?? new MemoryWeights();
        }

        /// <summary>The embedder for relevance (null: BM25).</summary>
        public IEmbedder? Embedder { get; }

        /// <summary>Score weights.</summary>
        public MemoryWeights Weights { get; }

        /// <summary>Scores importance when a memory is added without one (default: <see cref="ImportanceHeuristic"/>).</summary>
        public Func<string, int> ImportanceScorer { get; set; } = ImportanceHeuristic.Score;

        /// <summary>Summed importance since the last reflection that triggers a new one.</summary>
        public int ReflectionThreshold { get; set; } = 30;

        /// <summary>Summed importance of memories added since the last reflection.</summary>
        public int ImportanceSinceReflection { get; private set; }

        /// <summary>True when enough has happened to reflect.</summary>
        public bool ShouldReflect => ImportanceSinceReflection >= ReflectionThreshold;

        /// <summary>All records, oldest first.</summary>
        public IReadOnlyList<MemoryRecord> Records => _records;

        /// <summary>Adds a memory.</summary>
        public MemoryRecord Add(string text, double gameHours, MemoryKind kind = MemoryKind.Observation, int? importance = null)
        {
            if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("memory text is empty", nameof(text));
            int imp = Math.Max(1, Math.Min(10, importance ?? ImportanceScorer(text)));
            var r = new MemoryRecord(_nextId++, text.Trim(), kind, gameHours, imp, Embedder?.Embed(text));
            _records.Add(r);
            if (kind != MemoryKind.Reflection) ImportanceSinceReflection += imp;
            return r;
        }

        /// <summary>Marks a reflection as done (resets the importance counter).</summary>
        public void ReflectionDone() => ImportanceSinceReflection = 0;

        /// <summary>The <paramref name="k"/> best memories for <paramref name="query"/> at game time <paramref name="nowHours"/>; marks them accessed.</summary>
        /// <param name="query">What the memories should be relevant to.</param>
        /// <param name="nowHours">Current game time.</param>
        /// <param name="k">How many to return.</param>
        /// <param name="touch">Mark the returned memories as accessed now.</param>
        /// <param name="kinds">Only these kinds (null: all).</param>
        public IReadOnlyList<ScoredMemory> Retrieve(string query, double nowHours, int k = 5, bool touch = true, IReadOnlyCollection<MemoryKind>? kinds = null)
        {
            var candidates = kinds == null ? _records : _records.Where(r => kinds.Contains(r.Kind)).ToList();
            int n = candidates.Count;
            if (n == 0 || k <= 0) return Array.Empty<ScoredMemory>();
            var recency = new double[n];
            var importance = new double[n];
            double[] relevance;
            for (int i = 0; i < n; i++)
            {
                recency[i] = Math.Pow(Weights.DecayPerHour, Math.Max(0, nowHours - candidates[i].LastAccessHours));
                importance[i] = candidates[i].Importance;
            }
            if (Embedder != null)
            {
                var q = Embedder.Embed(query);
                relevance = new double[n];
                for (int i = 0; i < n; i++)
                {
                    var e = candidates[i].Embedding ??= Embedder.Embed(candidates[i].Text);
                    relevance[i] = Cosine(q, e);
                }
            }
            else
            {
                relevance = Bm25.Scores(query, candidates.Select(r => Bm25.Terms(r.Text)).ToArray());
            }
            Normalise(recency);
            Normalise(importance);
            Normalise(relevance);
            var scored = new List<ScoredMemory>(n);
            for (int i = 0; i < n; i++)
            {
                double s = Weights.Recency * recency[i] + Weights.Importance * importance[i] + Weights.Relevance * relevance[i];
                scored.Add(new ScoredMemory(candidates[i], s, recency[i], importance[i], relevance[i]));
            }
            var top = scored.OrderByDescending(s => s.Score).ThenByDescending(s => s.Record.Id).Take(k).ToList();
            if (touch) foreach (var s in top) s.Record.LastAccessHours = Math.Max(s.Record.LastAccessHours, nowHours);
            return top;
        }

        private static void Normalise(double[] v)
        {
            double min = v.Min(), max = v.Max();
            double range = max - min;
            for (int i = 0; i < v.Length; i++) v[i] = range > 1e-12 ? (v[i] - min) / range : 0;
        }

        /// <summary>Cosine similarity.</summary>
        public static double Cosine(float[] a, float[] b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int i = 0; i < a.Length && i < b.Length; i++)
            {
                dot += (double)a[i] * b[i];
                na += (double)a[i] * a[i];
                nb += (double)b[i] * b[i];
            }
            return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
        }

        /// <summary>Writes the store (records, embeddings, counters) as a checksummed MessagePack save.</summary>
        public byte[] Serialize()
        {
            var buffer = new ArrayBufferWriter<byte>();
            var w = new MessagePackWriter(buffer);
            w.WriteArrayHeader(3);
            w.Write(_nextId);
            w.Write(ImportanceSinceReflection);
            w.WriteArrayHeader(_records.Count);
            foreach (var r in _records)
            {
                w.WriteArrayHeader(7);
                w.Write(r.Id);
                w.Write(r.Text);
                w.Write((int)r.Kind);
                w.Write(r.CreatedHours);
                w.Write(r.LastAccessHours);
                w.Write(r.Importance);
                if (r.Embedding == null) w.WriteNil();
                else w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(r.Embedding.AsSpan()));
            }
            w.Flush();
            return SaveEnvelope.Wrap(SaveMagic, SaveVersion, buffer.WrittenSpan);
        }

        /// <summary>Saves atomically to a file (the previous save survives any failure).</summary>
        public void SaveToFile(string path) => SaveEnvelope.WriteFileAtomic(path, Serialize());

        /// <summary>Reads a store written by <see cref="Serialize"/>.</summary>
        /// <exception cref="SaveCorruptException">The save is damaged, truncated or of another version.</exception>
        public static MemoryStore Deserialize(byte[] bytes, IEmbedder? embedder = null, MemoryWeights? weights = null)
        {
            var payload = SaveEnvelope.Unwrap(bytes, SaveMagic, SaveVersion, "memory save");
            var store = new MemoryStore(embedder, weights);
            try
            {
                var r = new MessagePackReader(payload);
                if (r.ReadArrayHeader() != 3) throw new InvalidOperationException("unexpected header");
                store._nextId = r.ReadInt64();
                store.ImportanceSinceReflection = r.ReadInt32();
                int n = r.ReadArrayHeader();
                for (int i = 0; i < n; i++)
                {
                    if (r.ReadArrayHeader() != 7) throw new InvalidOperationException($"record {i} is malformed");
                    long id = r.ReadInt64();
                    string text = r.ReadString() ?? throw new InvalidOperationException($"record {i} has no text");
                    var kind = (MemoryKind)r.ReadInt32();
                    if (!Enum.IsDefined(typeof(MemoryKind), kind)) throw new InvalidOperationException($"record {i} has unknown kind {(int)kind}");
                    double created = r.ReadDouble();
                    double access = r.ReadDouble();
                    int importance = r.ReadInt32();
                    float[]? emb = null;
                    if (!r.TryReadNil())
                    {
                        var bytesSeq = r.ReadBytes() ?? throw new InvalidOperationException($"record {i} embedding is malformed");
                        var raw = bytesSeq.ToArray();
                        if (raw.Length % 4 != 0) throw new InvalidOperationException($"record {i} embedding has {raw.Length} bytes");
                        emb = new float[raw.Length / 4];
                        Buffer.BlockCopy(raw, 0, emb, 0, raw.Length);
                    }
                    if (embedder != null && emb != null && emb.Length != embedder.Dimensions) emb = null; // another embedder: recompute lazily
                    store._records.Add(new MemoryRecord(id, text, kind, created, importance, emb) { LastAccessHours = access });
                }
            }
            catch (Exception e) when (e is MessagePackSerializationException || e is InvalidOperationException || e is EndOfStreamException || e is ArgumentException)
            {
                throw new SaveCorruptException(SaveProblem.Malformed, "memory save content is malformed: " + e.Message, e);
            }
            return store;
        }

        /// <summary>Loads a store from a file.</summary>
        public static MemoryStore LoadFromFile(string path, IEmbedder? embedder = null, MemoryWeights? weights = null) =>
            Deserialize(File.ReadAllBytes(path), embedder, weights);
    }
}
