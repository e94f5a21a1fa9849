using System;
using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Extensions.AI
{
    /// <summary>
    /// Turns the generated text, piece by piece, into what the caller sees: the words before a tool call, trimmed, cut
    /// at the first stop sequence. Text that may still turn out to be the start of a tool call, of a stop sequence or
    /// trailing whitespace is held back, so the pieces released while streaming add up to exactly <see cref="Text"/>.
    /// </summary>
    internal sealed class ReplyTextFilter
    {
        private const string ToolCallTag = "<tool_call>";
        private readonly IReadOnlyList<string> _stops;
        private readonly StringBuilder _raw = new StringBuilder();
        private readonly StringBuilder _released = new StringBuilder();
        private bool _done;

        public ReplyTextFilter(IEnumerable<string>? stopSequences)
        {
            var stops = new List<string>();
            if (stopSequences != null)
                foreach (var s in stopSequences)
                    if (!string.IsNullOrEmpty(s)) stops.Add(s);
            _stops = stops;
        }

        /// <summary>A stop sequence was generated: nothing after it counts.</summary>
        public bool StopHit { get; private set; }

        /// <summary>The model began a tool call: the spoken text is over.</summary>
        public bool ToolCallStarted { get; private set; }

        /// <summary>True once nothing more will be released (stop sequence or tool call seen).</summary>
        public bool IsClosed => _done;

        /// <summary>The visible text released so far (after <see cref="Finish"/>: all of it).</summary>
        public string Text => _released.ToString();

        /// <summary>Adds generated text; returns the visible text it releases (possibly empty).</summary>
        public string Append(string piece)
        {
            if (_done || piece.Length == 0) return "";
            _raw.Append(piece);
            string candidate = _raw.ToString().TrimStart();

            int cut = candidate.IndexOf(ToolCallTag, StringComparison.Ordinal);
            bool toolCall = cut >= 0;
            foreach (var stop in _stops)
            {
                int i = candidate.IndexOf(stop, StringComparison.Ordinal);
                if (i >= 0 && (cut < 0 || i < cut))
                {
                    cut = i;
                    toolCall = false;
                }
            }
            if (cut >= 0)
            {
                _done = true;
                if (toolCall) ToolCallStarted = true;
                else StopHit = true;
                return Release(candidate.Substring(0, cut).TrimEnd(), candidate.Length);
            }

            int safe = candidate.Length - HeldBackSuffix(candidate);
            while (safe > _released.Length && char.IsWhiteSpace(candidate[safe - 1])) safe--;
            return Release(candidate, safe);
        }

        /// <summary>Ends the text; returns what was still held back (without trailing whitespace).</summary>
        public string Finish()
        {
            if (_done) return "";
            _done = true;
            string candidate = _raw.ToString().Trim();
            return Release(candidate, candidate.Length);
        }

        private string Release(string visible, int upTo)
        {
            int end = Math.Min(upTo, visible.Length);
            if (end <= _released.Length) return "";
            string piece = visible.Substring(_released.Length, end - _released.Length);
            _released.Append(piece);
            return piece;
        }

        /// <summary>Length of the longest suffix of <paramref name="text"/> that begins the tool-call tag or a stop sequence.</summary>
        private int HeldBackSuffix(string text)
        {
            int longest = Math.Max(0, PrefixOverlap(text, ToolCallTag));
            foreach (var stop in _stops) longest = Math.Max(longest, PrefixOverlap(text, stop));
            return longest;
        }

        private static int PrefixOverlap(string text, string marker)
        {
            for (int n = Math.Min(marker.Length - 1, text.Length); n > 0; n--)
                if (string.CompareOrdinal(text, text.Length - n, marker, 0, n) == 0) return n;
            return 0;
        }
    }
}
