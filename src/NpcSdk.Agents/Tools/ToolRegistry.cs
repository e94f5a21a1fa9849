using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Reflection;
using NpcSdk.Agents.Characters;

namespace NpcSdk.Agents.Tools
{
    /// <summary>The game's tools; each NPC is offered, and may call, only those its <see cref="Character.Tools"/> grant.</summary>
    public sealed class ToolRegistry
    {
        private readonly Dictionary<string, ToolDefinition> _tools = new Dictionary<string, ToolDefinition>(StringComparer.Ordinal);

        /// <summary>Every registered tool.</summary>
        public IReadOnlyCollection<ToolDefinition> All => _tools.Values;

        /// <summary>Registers a tool.</summary>
        public ToolRegistry Add(ToolDefinition tool)
        {
            if (_tools.ContainsKey(tool.Name)) throw new ArgumentException($"tool '{tool.Name}' is already registered");
            _tools.Add(tool.Name, tool);
            return this;
        }

        private const DynamicallyAccessedMemberTypes ToolMethods = DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

        /// <summary>Registers every <see cref="NpcToolAttribute"/> method (instance or static) of <typeparamref name="T"/>, called on <paramref name="target"/>.</summary>
        /// <remarks><typeparamref name="T"/> is the static type of the argument (what the trimmer keeps methods of), not the object's runtime type.</remarks>
        /// <exception cref="ArgumentException"><typeparamref name="T"/> has no <see cref="NpcToolAttribute"/> method.</exception>
        public ToolRegistry AddFrom<[DynamicallyAccessedMembers(ToolMethods)] T>(T target) where T : class
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            return AddMethods(typeof(T), target);
        }

        /// <summary>Registers every static <see cref="NpcToolAttribute"/> method of a class (a static class, say).</summary>
        /// <exception cref="ArgumentException">The class has no static <see cref="NpcToolAttribute"/> method.</exception>
        public ToolRegistry AddFrom([DynamicallyAccessedMembers(ToolMethods)] Type staticClass) => AddMethods(staticClass, null);

        private ToolRegistry AddMethods([DynamicallyAccessedMembers(ToolMethods)] Type type, object? instance)
        {
            var flags = BindingFlags.Public | BindingFlags.NonPublic | (instance == null ? BindingFlags.Static : BindingFlags.Instance | BindingFlags.Static);
            var methods = type.GetMethods(flags).Where(m => m.GetCustomAttribute<NpcToolAttribute>() != null).OrderBy(m => m.MetadataToken).ToList();
            if (methods.Count == 0)
                throw new ArgumentException($"{type.FullName} has no {(instance == null ? "static " : "")}[NpcTool] methods (tools are looked up on the argument's static type)");
            foreach (var m in methods) Add(ToolDefinition.FromMethod(m.IsStatic ? null : instance, m));
            return this;
        }

        /// <summary>Finds a tool by name.</summary>
        public ToolDefinition? Find(string name) => _tools.TryGetValue(name, out var t) ? t : null;

        /// <summary>
        /// The tools granted to <paramref name="npc"/> that it can use now, in the order of its grant list: unknown names
        /// are ignored, and so is a tool whose choice parameter has nothing to choose from (selling with an empty inventory).
        /// </summary>
        public IReadOnlyList<ToolDefinition> GrantedTo(Character npc)
        {
            var result = new List<ToolDefinition>();
            foreach (var name in npc.Tools)
                if (_tools.TryGetValue(name, out var t) && !result.Contains(t) && t.Parameters.All(p => p.AllowedValues(npc)?.Count != 0)) result.Add(t);
            return result;
        }

        /// <summary>Validates a call for the NPC in <paramref name="context"/> and runs it.</summary>
        /// <exception cref="ToolCallRejectedException">The tool is unknown, not granted to this NPC, or the arguments are invalid.</exception>
        public ToolResult Execute(ToolCall call, ToolContext context)
        {
            var tool = Find(call.Name) ?? throw new ToolCallRejectedException(call.Name, "no such tool");
            if (!context.Npc.Tools.Contains(call.Name)) throw new ToolCallRejectedException(call.Name, $"not granted to {context.Npc.Name}");
            var args = tool.BindArguments(call, context.Npc);
            return tool.Invoke(args, context);
        }
    }
}
