using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;
using NpcSdk.Agents.Characters;

namespace NpcSdk.Agents.Tools
{
    /// <summary>JSON type of a tool parameter.</summary>
    public enum ToolParameterType
    {
        /// <summary>A string.</summary>
        String,
        /// <summary>An integer.</summary>
        Integer,
        /// <summary>A number.</summary>
        Number,
        /// <summary>true or false.</summary>
        Boolean,
    }

    /// <summary>One parameter of a tool.</summary>
    public sealed class ToolParameter
    {
        /// <summary>Creates a parameter.</summary>
        public ToolParameter(string name, ToolParameterType type, ChoiceSource choices = ChoiceSource.Any)
        {
            Name = name;
            Type = type;
            Choices = choices;
        }

        /// <summary>Name as the model writes it.</summary>
        public string Name { get; }

        /// <summary>JSON type.</summary>
        public ToolParameterType Type { get; }

        /// <summary>Where allowed values come from (strings only).</summary>
        public ChoiceSource Choices { get; }

        /// <summary>The allowed values for <paramref name="npc"/>, or null when any value is allowed.</summary>
        public IReadOnlyList<string>? AllowedValues(Character npc)
        {
            switch (Choices)
            {
                case ChoiceSource.Inventory: return npc.Inventory.Select(i => i.Name).ToArray();
                case ChoiceSource.Quests: return npc.Quests.Select(q => q.Id).ToArray();
                case ChoiceSource.Doors: return npc.Doors.ToArray();
                case ChoiceSource.Songs: return npc.Songs.ToArray();
                default: return null;
            }
        }
    }

    /// <summary>What a tool is given when it runs: the NPC calling it and the player's state.</summary>
    public sealed class ToolContext
    {
        /// <summary>Creates a context.</summary>
        public ToolContext(Character npc, PlayerState player)
        {
            Npc = npc;
            Player = player;
        }

        /// <summary>The NPC calling the tool.</summary>
        public Character Npc { get; }

        /// <summary>The player.</summary>
        public PlayerState Player { get; }
    }

    /// <summary>A typed game action the model may call: name, description, parameters, and the C# code that runs it.</summary>
    public sealed class ToolDefinition
    {
        private readonly Func<object?[], ToolContext, ToolResult> _invoke;

        /// <summary>Creates a tool from parts.</summary>
        public ToolDefinition(string name, string description, IReadOnlyList<ToolParameter> parameters, Func<object?[], ToolContext, ToolResult> invoke)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Any(ch => !(char.IsLetterOrDigit(ch) || ch == '_')))
                throw new ArgumentException($"tool name '{name}' must be letters, digits and '_'", nameof(name));
            Name = name;
            Description = description;
            Parameters = parameters;
            _invoke = invoke;
        }

        /// <summary>Longest value of a free string argument (the constrained grammar enforces it).</summary>
        public const int MaxStringLength = 120;

        /// <summary>The name the model writes.</summary>
        public string Name { get; }

        /// <summary>Memory line template written after a successful call (see <see cref="NpcToolAttribute.Memory"/>).</summary>
        public string MemoryTemplate { get; set; } = "";

        /// <summary>The memory line for a successful call.</summary>
        public string MemoryText(ToolCall call)
        {
            if (string.IsNullOrEmpty(MemoryTemplate))
                return $"You used {Name}({string.Join(", ", call.Arguments.Select(a => Plain(a.Value)))}).";
            string text = MemoryTemplate;
            foreach (var a in call.Arguments) text = text.Replace("{" + a.Key + "}", Plain(a.Value));
            return text;
        }

        /// <summary>An argument as prose: strings without quotes, anything else as its JSON.</summary>
        private static string Plain(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

        /// <summary>The line the model reads.</summary>
        public string Description { get; }

        /// <summary>Parameters in order.</summary>
        public IReadOnlyList<ToolParameter> Parameters { get; }

        /// <summary>The prompt line: <c>sell_item(item, price): sell an item from your inventory to the player</c>.</summary>
        public string PromptLine => $"{Name}({string.Join(", ", Parameters.Select(p => p.Name))}): {Description}";

        /// <summary>The JSON schema of the arguments for <paramref name="npc"/> (string choices become enums of its data).</summary>
        public string ArgumentsSchemaJson(Character npc)
        {
            var sb = new StringBuilder("{\"type\": \"object\", \"properties\": {");
            for (int i = 0; i < Parameters.Count; i++)
            {
                var p = Parameters[i];
                if (i > 0) sb.Append(", ");
                sb.Append(JsonText.Quote(p.Name)).Append(": {\"type\": \"").Append(p.Type.ToString().ToLowerInvariant()).Append('"');
                var allowed = p.AllowedValues(npc);
                if (allowed != null) sb.Append(", \"enum\": ").Append(JsonText.Array(allowed));
                // A free string gets a length limit so a constrained call always closes in time.
                else if (p.Type == ToolParameterType.String) sb.Append(", \"maxLength\": ").Append(MaxStringLength);
                sb.Append('}');
            }
            sb.Append("}, \"required\": ").Append(JsonText.Array(Parameters.Select(p => p.Name))).Append(", \"additionalProperties\": false}");
            return sb.ToString();
        }

        /// <summary>Checks a call's arguments against the parameters (types, required, no extras, choices for this NPC) and converts them.</summary>
        /// <exception cref="ToolCallRejectedException">An argument is missing, extra, of the wrong type or not allowed.</exception>
        public object?[] BindArguments(ToolCall call, Character npc)
        {
            var values = new object?[Parameters.Count];
            foreach (var key in call.Arguments.Keys)
                if (!Parameters.Any(p => p.Name == key)) throw new ToolCallRejectedException(Name, $"unknown argument '{key}'");
            for (int i = 0; i < Parameters.Count; i++)
            {
                var p = Parameters[i];
                if (!call.Arguments.TryGetValue(p.Name, out var v)) throw new ToolCallRejectedException(Name, $"missing argument '{p.Name}'");
                switch (p.Type)
                {
                    case ToolParameterType.String:
                        if (v.ValueKind != JsonValueKind.String) throw new ToolCallRejectedException(Name, $"argument '{p.Name}' must be a string");
                        string s = v.GetString()!;
                        var allowed = p.AllowedValues(npc);
                        if (allowed == null && s.Length > MaxStringLength) throw new ToolCallRejectedException(Name, $"argument '{p.Name}' is longer than {MaxStringLength} characters");
                        if (allowed != null)
                        {
                            string? match = allowed.FirstOrDefault(a => string.Equals(a, s.Trim(), StringComparison.OrdinalIgnoreCase));
                            if (match == null) throw new ToolCallRejectedException(Name, $"'{s}' is not one of {npc.Name}'s {p.Choices.ToString().ToLowerInvariant()} ({string.Join(", ", allowed)})");
                            s = match;
                        }
                        values[i] = s;
                        break;
                    case ToolParameterType.Integer:
                        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long l)) throw new ToolCallRejectedException(Name, $"argument '{p.Name}' must be an integer");
                        values[i] = l;
                        break;
                    case ToolParameterType.Number:
                        if (v.ValueKind != JsonValueKind.Number) throw new ToolCallRejectedException(Name, $"argument '{p.Name}' must be a number");
                        values[i] = v.GetDouble();
                        break;
                    case ToolParameterType.Boolean:
                        if (v.ValueKind != JsonValueKind.True && v.ValueKind != JsonValueKind.False) throw new ToolCallRejectedException(Name, $"argument '{p.Name}' must be true or false");
                        values[i] = v.GetBoolean();
                        break;
                }
            }
            return values;
        }

        /// <summary>Runs the tool with bound arguments.</summary>
        public ToolResult Invoke(object?[] arguments, ToolContext context) => _invoke(arguments, context);

        /// <summary>Builds a tool from a method marked <see cref="NpcToolAttribute"/> (parameters: string/int/long/float/double/bool, optionally a <see cref="ToolContext"/>).</summary>
        public static ToolDefinition FromMethod(object? target, MethodInfo method)
        {
            var attr = method.GetCustomAttribute<NpcToolAttribute>() ?? throw new ArgumentException($"{method.Name} has no [NpcTool] attribute", nameof(method));
            if (method.ReturnType != typeof(ToolResult)) throw new ArgumentException($"tool method {method.Name} must return ToolResult", nameof(method));
            var ps = method.GetParameters();
            var parameters = new List<ToolParameter>();
            var map = new List<Func<object?[], ToolContext, object?>>();
            foreach (var p in ps)
            {
                if (p.ParameterType == typeof(ToolContext))
                {
                    map.Add((a, c) => c);
                    continue;
                }
                ToolParameterType t;
                Func<object?, object?> convert;
                if (p.ParameterType == typeof(string)) { t = ToolParameterType.String; convert = v => v; }
                else if (p.ParameterType == typeof(int)) { t = ToolParameterType.Integer; convert = v => checked((int)(long)v!); }
                else if (p.ParameterType == typeof(long)) { t = ToolParameterType.Integer; convert = v => (long)v!; }
                else if (p.ParameterType == typeof(double)) { t = ToolParameterType.Number; convert = v => (double)v!; }
                else if (p.ParameterType == typeof(float)) { t = ToolParameterType.Number; convert = v => (float)(double)v!; }
                else if (p.ParameterType == typeof(bool)) { t = ToolParameterType.Boolean; convert = v => v; }
                else throw new ArgumentException($"tool {attr.Name}: parameter '{p.Name}' has unsupported type {p.ParameterType.Name}");
                var choices = p.GetCustomAttribute<ChoicesAttribute>()?.Source ?? ChoiceSource.Any;
                if (choices != ChoiceSource.Any && t != ToolParameterType.String) throw new ArgumentException($"tool {attr.Name}: [Choices] needs a string parameter ('{p.Name}')");
                int index = parameters.Count;
                parameters.Add(new ToolParameter(p.Name!, t, choices));
                map.Add((a, c) => convert(a[index]));
            }
            return new ToolDefinition(attr.Name, attr.Description, parameters, (args, ctx) =>
            {
                var call = new object?[map.Count];
                for (int i = 0; i < map.Count; i++) call[i] = map[i](args, ctx);
                try
                {
                    return (ToolResult)method.Invoke(target, call)!;
                }
                catch (TargetInvocationException e) when (e.InnerException != null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                    throw;
                }
            }) { MemoryTemplate = attr.Memory };
        }
    }
}
