#nullable enable
using System;
using System.IO;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Local;
using NpcSdk.Agents.Memory;
using NpcSdk.Agents.Tools;
using NpcSdk.Models;
using NpcSdk.Scheduling;
using UnityEngine;
using UnityEngine.Events;

namespace NpcSdk.Unity
{
    /// <summary>
    /// Gives a GameObject a voice: holds a <see cref="Character"/>, runs the shared model within a per-frame budget
    /// (<see cref="FrameScheduler.Tick(double)"/> in <c>Update</c>), and raises UnityEvents for lines and tool calls.
    /// </summary>
    public sealed class NpcBrain : MonoBehaviour
    {
        [Tooltip("GGUF model, relative to StreamingAssets")] public string modelFile = "npc-q8_0.gguf";
        [Tooltip("Character JSON, relative to StreamingAssets")] public string characterFile = "blacksmith.json";
        [Tooltip("Milliseconds per frame the NPCs may use")] public float frameBudgetMs = 3f;
        [Tooltip("Priority of this NPC's replies (the one the player faces first)")] public int priority = 10;

        /// <summary>Raised with each full reply.</summary>
        public UnityEvent<string> onLine = new UnityEvent<string>();

        /// <summary>Raised with each tool call (name, arguments JSON, result JSON).</summary>
        public UnityEvent<string, string, string> onToolCall = new UnityEvent<string, string, string>();

        private static Model? s_model;
        private static FrameScheduler? s_scheduler;
        private static LocalTextGenerator? s_generator;
        private static int s_lastTickFrame = -1;
        private NpcAgent? _agent;

        /// <summary>The game's tools; register actions before the first line.</summary>
        public static ToolRegistry Tools { get; } = new ToolRegistry();

        /// <summary>The agent (character, memory, player state).</summary>
        public NpcAgent? Agent => _agent;

        private void Awake()
        {
            string root = Application.streamingAssetsPath;
            if (s_model == null)
            {
                s_model = Model.Load(Path.Combine(root, modelFile));
                s_model.Calibrate(); // the scheduler's cost model measured here, not in the first frames of play
            }
            s_scheduler ??= new FrameScheduler();
            s_generator ??= new LocalTextGenerator(s_model, s_scheduler);
            var character = Character.Load(Path.Combine(root, characterFile));
            _agent = new NpcAgent(character, s_generator, Tools, new MemoryStore(), new AgentOptions { Priority = priority });
            _agent.ToolCalled += (a, call) => onToolCall.Invoke(call.Call.Name, call.Call.ToJson(), call.Result.ToJson());
        }

        /// <summary>Says a line to this NPC; the reply arrives through <see cref="onLine"/> a few frames later.</summary>
        public async void Say(string line)
        {
            if (_agent == null) return;
            try
            {
                var reply = await _agent.RespondAsync(line, Time.time / 3600.0);
                onLine.Invoke(reply.Text);
            }
            catch (Exception e)
            {
                Debug.LogException(e, this);
            }
        }

        private void Update()
        {
            // One tick per frame for all brains.
            if (s_scheduler == null || s_lastTickFrame == Time.frameCount) return;
            s_lastTickFrame = Time.frameCount;
            s_scheduler.Tick(frameBudgetMs);
        }
    }
}
