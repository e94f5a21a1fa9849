using System;
using System.Collections.Generic;
using NpcSdk.Models;

namespace NpcSdk.Generation
{
    /// <summary>
    /// A token prefix (world lore, a persona's system prompt) prefilled once; every session on the same model whose
    /// tokens start with it reads its keys and values instead of computing and storing its own.
    /// </summary>
    public sealed class SharedPrefix
    {
        internal SharedPrefix(int[] tokens, KvCache cache, float[] lastLogits)
        {
            Tokens = tokens;
            Cache = cache;
            LastLogits = lastLogits;
        }

        /// <summary>The prefix tokens.</summary>
        public IReadOnlyList<int> Tokens { get; }

        /// <summary>Number of tokens.</summary>
        public int Length => Tokens.Count;

        /// <summary>Bytes of KV cache held once for all sessions.</summary>
        public long KvCacheBytes => Cache.ByteSize;

        internal KvCache Cache { get; }

        internal float[] LastLogits { get; }
    }

    /// <summary>The shared prefixes registered on a model; sessions starting at position 0 use the longest that matches.</summary>
    public sealed class SharedPrefixRegistry
    {
        private readonly List<SharedPrefix> _prefixes = new List<SharedPrefix>();
        private readonly object _gate = new object();

        /// <summary>Registered prefixes.</summary>
        public IReadOnlyList<SharedPrefix> All
        {
            get { lock (_gate) return _prefixes.ToArray(); }
        }

        internal void Add(SharedPrefix prefix)
        {
            lock (_gate) _prefixes.Add(prefix);
        }

        /// <summary>Removes a prefix (sessions already using it keep it alive).</summary>
        public bool Remove(SharedPrefix prefix)
        {
            lock (_gate) return _prefixes.Remove(prefix);
        }

        internal SharedPrefix? FindLongest(IReadOnlyList<int> tokens, KvCacheType type)
        {
            lock (_gate)
            {
                SharedPrefix? best = null;
                foreach (var p in _prefixes)
                {
                    if (p.Cache.Type != type || p.Length > tokens.Count || (best != null && p.Length <= best.Length)) continue;
                    bool match = true;
                    for (int i = 0; i < p.Length && match; i++) match = p.Tokens[i] == tokens[i];
                    if (match) best = p;
                }
                return best;
            }
        }
    }
}
