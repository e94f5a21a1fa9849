using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NpcSdk.Agents.Characters
{
    /// <summary>An item an NPC holds, with its price in gold.</summary>
    public sealed class InventoryItem
    {
        /// <summary>Creates an item.</summary>
        public InventoryItem(string name, int price, int count = 1)
        {
            Name = name;
            Price = price;
            Count = count;
        }

        /// <summary>The item's name as the NPC says it ("iron sword").</summary>
        public string Name { get; set; }

        /// <summary>Price in gold.</summary>
        public int Price { get; set; }

        /// <summary>How many the NPC has.</summary>
        public int Count { get; set; }
    }

    /// <summary>A quest an NPC can give.</summary>
    public sealed class Quest
    {
        /// <summary>Creates a quest.</summary>
        public Quest(string id, string description, int reward)
        {
            Id = id;
            Description = description;
            Reward = reward;
        }

        /// <summary>Identifier used in tool calls (snake_case, e.g. <c>wolf_hunt</c>).</summary>
        public string Id { get; set; }

        /// <summary>What the player must do.</summary>
        public string Description { get; set; }

        /// <summary>Reward in gold.</summary>
        public int Reward { get; set; }
    }

    /// <summary>
    /// A game character: who they are, what they own and know, and which tools (game actions) they may use.
    /// Build it in code or load it from a JSON character file.
    /// </summary>
    public sealed class Character
    {
        /// <summary>Creates a character.</summary>
        public Character(string name, string role)
        {
            Name = name;
            Role = role;
        }

        /// <summary>Name ("Brom Ironhand").</summary>
        public string Name { get; set; }

        /// <summary>Role ("blacksmith").</summary>
        public string Role { get; set; }

        /// <summary>Town or place the character belongs to ("Oakvale").</summary>
        public string Town { get; set; } = "";

        /// <summary>Personality, as a short phrase ("gruff, speaks in short, blunt sentences").</summary>
        public string Personality { get; set; } = "";

        /// <summary>Where the character is ("the forge, Oakvale").</summary>
        public string Location { get; set; } = "";

        /// <summary>What the character sells or owns.</summary>
        public List<InventoryItem> Inventory { get; set; } = new List<InventoryItem>();

        /// <summary>Quests the character can give.</summary>
        public List<Quest> Quests { get; set; } = new List<Quest>();

        /// <summary>Doors or gates the character can open.</summary>
        public List<string> Doors { get; set; } = new List<string>();

        /// <summary>Songs the character can play.</summary>
        public List<string> Songs { get; set; } = new List<string>();

        /// <summary>Free-form facts always in the prompt (lore the character knows).</summary>
        public List<string> Facts { get; set; } = new List<string>();

        /// <summary>Names of the tools this character may call (e.g. <c>sell_item</c>); only these are offered and accepted.</summary>
        public List<string> Tools { get; set; } = new List<string>();

        /// <summary>Finds an inventory item by name (case-insensitive).</summary>
        public InventoryItem? FindItem(string name)
        {
            foreach (var i in Inventory)
                if (string.Equals(i.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase)) return i;
            return null;
        }

        /// <summary>Reads a character from JSON (snake_case keys, comments allowed).</summary>
        /// <exception cref="FormatException">The JSON is invalid or misses name/role.</exception>
        public static Character FromJson(string json)
        {
            try
            {
                var c = JsonSerializer.Deserialize(json, CharacterJson.Default.CharacterFile) ?? throw new FormatException("character JSON is empty");
                if (string.IsNullOrWhiteSpace(c.Name) || string.IsNullOrWhiteSpace(c.Role)) throw new FormatException("a character needs a name and a role");
                return new Character(c.Name!, c.Role!)
                {
                    Town = c.Town ?? "",
                    Personality = c.Personality ?? "",
                    Location = c.Location ?? "",
                    Inventory = c.Inventory ?? new List<InventoryItem>(),
                    Quests = c.Quests ?? new List<Quest>(),
                    Doors = c.Doors ?? new List<string>(),
                    Songs = c.Songs ?? new List<string>(),
                    Facts = c.Facts ?? new List<string>(),
                    Tools = c.Tools ?? new List<string>(),
                };
            }
            catch (JsonException e)
            {
                throw new FormatException($"invalid character JSON: {e.Message}", e);
            }
        }

        /// <summary>Reads a character file.</summary>
        public static Character Load(string path) => FromJson(File.ReadAllText(path));

        /// <summary>Writes the character as JSON.</summary>
        public string ToJson() => JsonSerializer.Serialize(new CharacterFile
        {
            Name = Name, Role = Role, Town = Town, Personality = Personality, Location = Location,
            Inventory = Inventory, Quests = Quests, Doors = Doors, Songs = Songs, Facts = Facts, Tools = Tools,
        }, CharacterJson.Default.CharacterFile);

        internal sealed class CharacterFile
        {
            public string? Name { get; set; }
            public string? Role { get; set; }
            public string? Town { get; set; }
            public string? Personality { get; set; }
            public string? Location { get; set; }
            public List<InventoryItem>? Inventory { get; set; }
            public List<Quest>? Quests { get; set; }
            public List<string>? Doors { get; set; }
            public List<string>? Songs { get; set; }
            public List<string>? Facts { get; set; }
            public List<string>? Tools { get; set; }
        }
    }

    /// <summary>The character file format (snake_case keys, comments and trailing commas allowed), source-generated so it needs no reflection.</summary>
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
    [JsonSerializable(typeof(Character.CharacterFile))]
    internal sealed partial class CharacterJson : JsonSerializerContext
    {
    }

    /// <summary>What the NPC knows of the player right now.</summary>
    public sealed class PlayerState
    {
        /// <summary>The player's name, if known.</summary>
        public string? Name { get; set; }

        /// <summary>Gold the player carries.</summary>
        public int Gold { get; set; }

        /// <summary>Items the player carries.</summary>
        public List<string> Inventory { get; set; } = new List<string>();
    }
}
