using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Memory;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Agents.Dialogue
{
    /// <summary>Options of an <see cref="NpcAgent"/>.</summary>
    public sealed class AgentOptions
    {
        /// <summary>Most model calls per reply (each tool call adds one: the model reads the result and finishes its line).</summary>
        public int MaxSteps { get; set; } = 3;

        /// <summary>Most tokens per model call.</summary>
        public int MaxTokens { get; set; } = 96;

        /// <summary>Sampling temperature (0 = greedy).</summary>
        public float Temperature { get; set; } = 0.7f;

        /// <summary>Seed of the first reply; each later reply uses the next seed, so a replayed session says the same.</summary>
        public ulong Seed { get; set; } = 1;

        /// <summary>Memories retrieved into the prompt.</summary>
        public int MemoriesInPrompt { get; set; } = 4;

        /// <summary>Earlier exchanges kept verbatim in the prompt.</summary>
        public int HistoryTurns { get; set; } = 2;

        /// <summary>Scheduling priority of this NPC's replies.</summary>
        public int Priority { get; set; }
    }

    /// <summary>A tool call the NPC made and what came of it.</summary>
    public sealed class ToolInvocation
    {
        internal ToolInvocation(ToolCall call, ToolResult result, bool rejected)
        {
            Call = call;
            Result = result;
            Rejected = rejected;
        }

        /// <summary>The call as the model wrote it.</summary>
        public ToolCall Call { get; }

        /// <summary>The result sent back to the model.</summary>
        public ToolResult Result { get; }

        /// <summary>True when validation refused the call (it did not run).</summary>
        public bool Rejected { get; }
    }

    /// <summary>An NPC's answer: its words and the game actions it took.</summary>
    public sealed class AgentReply
    {
        internal AgentReply(string text, IReadOnlyList<ToolInvocation> toolCalls, IReadOnlyList<string> recalled)
        {
            Text = text;
            ToolCalls = toolCalls;
            RecalledMemories = recalled;
        }

        /// <summary>The memories retrieved into the prompt for this reply.</summary>
        public IReadOnlyList<string> RecalledMemories { get; }

        /// <summary>Everything the NPC said, across steps.</summary>
        public string Text { get; }

        /// <summary>Tool calls in order.</summary>
        public IReadOnlyList<ToolInvocation> ToolCalls { get; }
    }

    /// <summary>
    /// A character that talks: renders its sheet, retrieved memories and granted tools into the prompt, asks the
    /// generator for a reply, runs validated tool calls (on the thread that awaits <see cref="RespondAsync"/>: the
    /// game's), feeds results back for the model to finish its line (a ReAct loop with a step limit), and remembers.
    /// </summary>
    public sealed class NpcAgent
    {
        private readonly List<DialogueMessage> _history = new List<DialogueMessage>();
        private ulong _replies;
        private static readonly MemoryKind[] PromptKinds = { MemoryKind.Observation, MemoryKind.Action, MemoryKind.Reflection, MemoryKind.Lesson, MemoryKind.Fact };

        /// <summary>Creates an agent.</summary>
        public NpcAgent(Character character, ITextGenerator generator, ToolRegistry tools, MemoryStore? memory = null, AgentOptions? options = null)
        {
            Character = character ?? throw new ArgumentNullException(nameof(character));
            Generator = generator ?? throw new ArgumentNullException(nameof(generator));
            Tools = tools ?? throw new ArgumentNullException(nameof(tools));
            Memory = memory ?? new MemoryStore();
            Options = options ?? new AgentOptions();
        }

        /// <summary>The character sheet.</summary>
        public Character Character { get; }

        /// <summary>The model behind the NPC.</summary>
        public ITextGenerator Generator { get; }

        /// <summary>The game's tools (the character's grant list decides which this NPC may use).</summary>
        public ToolRegistry Tools { get; }

        /// <summary>The memory stream.</summary>
        public MemoryStore Memory { get; }

        /// <summary>Options.</summary>
        public AgentOptions Options { get; }

        /// <summary>The player as this NPC sees them (gold shown in the prompt).</summary>
        public PlayerState Player { get; set; } = new PlayerState();

        /// <summary>Recent messages (user, assistant, tool) kept for the next prompt.</summary>
        public IReadOnlyList<DialogueMessage> History => _history;

        /// <summary>Raised after each tool call ran (or was rejected).</summary>
        public event Action<NpcAgent, ToolInvocation>? ToolCalled;

        /// <summary>Answers a line said to this NPC by <paramref name="speaker"/> at game time <paramref name="gameHours"/>.</summary>
        public async Task<AgentReply> RespondAsync(string line, double gameHours, string speaker = "The player", CancellationToken cancellationToken = default)
        {
            if (line == null) throw new ArgumentNullException(nameof(line));
            var granted = Tools.GrantedTo(Character).ToList();
            bool rememberBuiltIn = Character.Tools.Contains("remember") && Tools.Find("remember") == null;
            if (rememberBuiltIn) granted.Add(RememberTool);

            // Lines heard and said stay in the stream (for reflection) but the prompt gets facts, actions and insights:
            // the NPC model was trained on memories like "The player owes you 10 gold.".
            var memories = Memory.Retrieve(line, gameHours, Options.MemoriesInPrompt, kinds: PromptKinds).Select(m => m.Record.Text).ToList();
            Memory.Add($"{speaker} said: \"{line}\"", gameHours, MemoryKind.Dialogue);
            var system = new DialogueMessage(DialogueRole.System, PersonaPrompt.Render(Character, Player, memories, granted));
            var messages = new List<DialogueMessage> { system };
            messages.AddRange(RecentHistory());
            var userMessage = new DialogueMessage(DialogueRole.User, line);
            messages.Add(userMessage);
            var turn = new List<DialogueMessage> { userMessage };
            var specs = granted.Select(t => new ToolSpec(t.Name, t.Description, t.ArgumentsSchemaJson(Character))).ToList();

            var spoken = new List<string>();
            var calls = new List<ToolInvocation>();
            for (int step = 0; step < Math.Max(1, Options.MaxSteps); step++)
            {
                var request = new ReplyRequest(messages.ToArray(), specs)
                {
                    MaxTokens = Options.MaxTokens,
                    Temperature = Options.Temperature,
                    Seed = Options.Seed + _replies++,
                    Priority = Options.Priority,
                };
                var reply = await Generator.GenerateAsync(request, cancellationToken).ConfigureAwait(true);
                string text = InlineTools.Expand(reply.Text, gameHours).Trim();
                if (text.Length > 0) spoken.Add(text);
                if (reply.ToolCall == null)
                {
                    var final = new DialogueMessage(DialogueRole.Assistant, reply.Text);
                    messages.Add(final);
                    turn.Add(final);
                    break;
                }
                var invocation = Invoke(reply.ToolCall, rememberBuiltIn, gameHours);
                calls.Add(invocation);
                ToolCalled?.Invoke(this, invocation);
                var assistant = new DialogueMessage(DialogueRole.Assistant, reply.Text, reply.ToolCall);
                var tool = new DialogueMessage(DialogueRole.Tool, invocation.Result.ToJson());
                messages.Add(assistant);
                messages.Add(tool);
                turn.Add(assistant);
                turn.Add(tool);
            }
            string said = string.Join(" ", spoken);
            if (said.Length > 0) Memory.Add($"You said to {(speaker == "The player" ? "the player" : speaker)}: \"{said}\"", gameHours, MemoryKind.Dialogue);
            _history.AddRange(turn);
            return new AgentReply(said, calls, memories);
        }

        private IEnumerable<DialogueMessage> RecentHistory()
        {
            // Keep whole exchanges: start at one of the last N user messages.
            int users = 0, start = _history.Count;
            for (int i = _history.Count - 1; i >= 0 && users < Options.HistoryTurns; i--)
            {
                if (_history[i].Role == DialogueRole.User) { users++; start = i; }
            }
            return _history.Skip(start);
        }

        private ToolInvocation Invoke(ToolCall call, bool rememberBuiltIn, double gameHours)
        {
            try
            {
                ToolResult result;
                if (rememberBuiltIn && call.Name == "remember")
                {
                    var args = RememberTool.BindArguments(call, Character);
                    var fact = (string)args[0]!;
                    Memory.Add(fact, gameHours, MemoryKind.Fact);
                    result = ToolResult.Success(("fact", fact));
                }
                else
                {
                    result = Tools.Execute(call, new ToolContext(Character, Player));
                }
                var tool = rememberBuiltIn && call.Name == "remember" ? null : Tools.Find(call.Name);
                if (tool != null && result.Ok) Memory.Add(tool.MemoryText(call), gameHours, MemoryKind.Action);
                return new ToolInvocation(call, result, rejected: false);
            }
            catch (ToolCallRejectedException e)
            {
                return new ToolInvocation(call, ToolResult.Failure(e.Message), rejected: true);
            }
        }

        private static readonly ToolDefinition RememberTool = new ToolDefinition(
            "remember", "remember a fact about the player",
            new[] { new ToolParameter("fact", ToolParameterType.String) },
            (a, c) => ToolResult.Success());

        /// <summary>
        /// Reflection (Generative Agents): when enough important things happened, asks the model for one insight about
        /// the recent memories and stores it as a memory. Returns the insight, or null when it was not time.
        /// </summary>
        public async Task<string?> ReflectAsync(double gameHours, bool force = false, CancellationToken cancellationToken = default)
        {
            if (!force && !Memory.ShouldReflect) return null;
            var recent = Memory.Records.Where(r => r.Kind != MemoryKind.Reflection).Reverse().Take(12).Reverse().Select(r => r.Text).ToList();
            if (recent.Count == 0) return null;
            var system = new DialogueMessage(DialogueRole.System, PersonaPrompt.Render(Character, Player, recent, Array.Empty<ToolDefinition>()));
            var ask = new DialogueMessage(DialogueRole.User, "What is the most important thing you have learned about the player recently? Answer in one sentence.");
            var reply = await Generator.GenerateAsync(new ReplyRequest(new[] { system, ask }, Array.Empty<ToolSpec>())
            {
                MaxTokens = 48,
                Temperature = 0,
                Seed = Options.Seed,
                Priority = Options.Priority - 1,
            }, cancellationToken).ConfigureAwait(true);
            string insight = reply.Text.Trim();
            Memory.ReflectionDone();
            if (insight.Length == 0) return null;
            Memory.Add(insight, gameHours, MemoryKind.Reflection, importance: 8);
            return insight;
        }

        /// <summary>Reflexion-style lesson at the end of an episode: stores what went wrong or right as a memory.</summary>
        public MemoryRecord AddLesson(string lesson, double gameHours) => Memory.Add(lesson, gameHours, MemoryKind.Lesson, importance: 7);

        /// <summary>Forgets the verbatim history (memories stay).</summary>
        public void ClearHistory() => _history.Clear();
    }
}
