using System;

namespace NpcSdk.Grammars
{
    /// <summary>A tool the model may call: its name and the JSON schema of its arguments object.</summary>
    public sealed class ToolSchema
    {
        /// <summary>Describes a tool.</summary>
        /// <param name="name">The tool name the model writes, e.g. <c>sell_item</c>.</param>
        /// <param name="parametersJsonSchema">The JSON schema of the arguments (an object schema; null or empty for a tool
        /// without arguments, which the model calls with <c>{}</c>).</param>
        public ToolSchema(string name, string? parametersJsonSchema)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("a tool needs a name", nameof(name));
            Name = name;
            ParametersJsonSchema = string.IsNullOrWhiteSpace(parametersJsonSchema) ? "{\"type\": \"object\", \"properties\": {}}" : parametersJsonSchema!;
        }

        /// <summary>The tool name.</summary>
        public string Name { get; }

        /// <summary>The JSON schema of the arguments object.</summary>
        public string ParametersJsonSchema { get; }

        /// <inheritdoc/>
        public override string ToString() => Name;
    }
}
