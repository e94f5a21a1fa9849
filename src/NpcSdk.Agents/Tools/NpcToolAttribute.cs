using System;

namespace NpcSdk.Agents.Tools
{
    /// <summary>Marks a method as a game action an NPC may call: <c>[NpcTool("sell_item", "sell an item from your inventory to the player")]</c>.</summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
    public sealed class NpcToolAttribute : Attribute
    {
        /// <summary>Declares a tool.</summary>
        public NpcToolAttribute(string name, string description)
        {
            Name = name;
            Description = description;
        }

        /// <summary>The tool name the model writes (snake_case).</summary>
        public string Name { get; }

        /// <summary>One line the model reads in its prompt.</summary>
        public string Description { get; }

        /// <summary>
        /// What the NPC remembers after a successful call, with <c>{parameter}</c> placeholders, in the second person
        /// the NPC model knows ("The player bought the {item} from you for {price} gold."). Empty: a generic line.
        /// </summary>
        public string Memory { get; set; } = "";
    }

    /// <summary>Where the allowed values of a string parameter come from.</summary>
    public enum ChoiceSource
    {
        /// <summary>Any string.</summary>
        Any,
        /// <summary>The names of the items in the NPC's inventory.</summary>
        Inventory,
        /// <summary>The ids of the NPC's quests.</summary>
        Quests,
        /// <summary>The doors the NPC can open.</summary>
        Doors,
        /// <summary>The songs the NPC knows.</summary>
        Songs,
    }

    /// <summary>Restricts a string parameter to values from the NPC's own data (e.g. only items it actually has).</summary>
    [AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
    public sealed class ChoicesAttribute : Attribute
    {
        /// <summary>Declares the restriction.</summary>
        public ChoicesAttribute(ChoiceSource source) => Source = source;

        /// <summary>The source of allowed values.</summary>
        public ChoiceSource Source { get; }
    }
}
