using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Local;
using NpcSdk.Agents.Tools;
using NpcSdk.Models;
using Xunit;
using Xunit.Abstractions;

namespace NpcSdk.Agents.Tests
{
    /// <summary>
    /// The scripted tool-use suite (tests/data/agents/tooluse_suite.json) on the bundled NPC model with constrained
    /// decoding: buying, quests, doors, songs, refusals, small talk and hostile lines.
    /// </summary>
    public sealed class ToolUseEvalTests
    {
        private readonly ITestOutputHelper _out;

        public ToolUseEvalTests(ITestOutputHelper output) => _out = output;

        /// <summary>Records every raw reply the agent received.</summary>
        private sealed class Recording : ITextGenerator
        {
            private readonly ITextGenerator _inner;
            public readonly List<GeneratedReply> Replies = new List<GeneratedReply>();
            public Recording(ITextGenerator inner) => _inner = inner;
            public async Task<GeneratedReply> GenerateAsync(ReplyRequest request, CancellationToken cancellationToken = default)
            {
                var r = await _inner.GenerateAsync(request, cancellationToken);
                Replies.Add(r);
                return r;
            }
        }

        private static bool Matches(ToolCall call, JsonElement expected)
        {
            if (call.Name != expected.GetProperty("name").GetString()) return false;
            var args = expected.GetProperty("arguments");
            if (args.EnumerateObject().Count() != call.Arguments.Count) return false;
            foreach (var p in args.EnumerateObject())
            {
                if (!call.Arguments.TryGetValue(p.Name, out var v)) return false;
                bool same = p.Value.ValueKind == JsonValueKind.String
                    ? v.ValueKind == JsonValueKind.String && string.Equals(v.GetString(), p.Value.GetString(), StringComparison.OrdinalIgnoreCase)
                    : v.GetRawText() == p.Value.GetRawText();
                if (!same) return false;
            }
            return true;
        }

        [Fact]
        public async Task Constrained_Tool_Calls_Are_Always_Valid_And_Granted_And_Mostly_Right()
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestData.Root, "agents", "tooluse_suite.json")));
            var root = doc.RootElement;
            using var model = Model.Load(TestData.NpcModel, new ModelOptions { Threads = 1 });
            using var local = new LocalTextGenerator(model, maxSessions: 2);
            int expectedCalls = 0, right = 0, invalidJson = 0, ungranted = 0, falseCalls = 0, turns = 0;
            var misses = new List<string>();
            foreach (var c in root.GetProperty("cases").EnumerateArray())
            {
                turns++;
                var npc = Character.FromJson(root.GetProperty("npcs").GetProperty(c.GetProperty("npc").GetString()!).GetRawText());
                var recording = new Recording(local);
                var agent = new NpcAgent(npc, recording, new ToolRegistry().AddFrom(new GameActions()), options: new AgentOptions { Temperature = 0, MaxSteps = 2 })
                {
                    Player = new PlayerState { Gold = c.GetProperty("player_gold").GetInt32() },
                };
                string line = c.GetProperty("line").GetString()!;
                var reply = await agent.RespondAsync(line, 10);
                invalidJson += recording.Replies.Count(r => r.RejectedToolCallJson != null);
                var calls = recording.Replies.Where(r => r.ToolCall != null).Select(r => r.ToolCall!).ToList();
                ungranted += calls.Count(call => !npc.Tools.Contains(call.Name));
                var expected = c.GetProperty("expected");
                if (expected.ValueKind == JsonValueKind.Null)
                {
                    if (calls.Count > 0) { falseCalls++; misses.Add($"[{c.GetProperty("category").GetString()}] {npc.Role}: {line} -> unexpected {calls[0]}"); }
                }
                else
                {
                    expectedCalls++;
                    if (calls.Count > 0 && Matches(calls[0], expected)) right++;
                    else misses.Add($"[{c.GetProperty("category").GetString()}] {npc.Role}: {line} -> {(calls.Count > 0 ? calls[0].ToString() : "no call")} ({reply.Text})");
                }
            }
            foreach (var m in misses) _out.WriteLine(m);
            double rate = (double)right / expectedCalls;
            _out.WriteLine($"{turns} turns: right calls {right}/{expectedCalls} ({rate:P1}), invalid JSON {invalidJson}, ungranted calls {ungranted}, calls where none was right {falseCalls}");
            Assert.True(turns >= 50);
            Assert.Equal(0, invalidJson);
            Assert.Equal(0, ungranted);
            Assert.True(rate >= 0.9, $"right calls {right}/{expectedCalls}");
        }
    }

    internal static class TestData
    {
        public static string RepoRoot => NpcSdk.Tests.Shared.RepoPaths.Root;

        public static string Root => Path.Combine(RepoRoot, "tests", "data");

        public static string NpcModel => Path.Combine(RepoRoot, "models", "npc-q8_0.gguf");
    }
}
