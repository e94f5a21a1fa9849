using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using MessagePack;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Memory;
using NpcSdk.Saves;

namespace NpcSdk.Samples.Tavern
{
    /// <summary>The tavern's save: game time, the player, each NPC's stock and memory stream. Written atomically with a checksum.</summary>
    internal static class TavernSave
    {
        private const string Magic = "NPCTAVRN";
        private const uint Version = 1;

        public static void Write(string path, double gameHours, PlayerState player, IReadOnlyList<NpcAgent> npcs)
        {
            var buffer = new ArrayBufferWriter<byte>();
            var w = new MessagePackWriter(buffer);
            w.WriteArrayHeader(4);
            w.Write(gameHours);
            w.Write(player.Gold);
            w.WriteArrayHeader(player.Inventory.Count);
            foreach (var i in player.Inventory) w.Write(i);
            w.WriteArrayHeader(npcs.Count);
            foreach (var npc in npcs)
            {
                w.WriteArrayHeader(3);
                w.Write(npc.Character.Name);
                w.WriteArrayHeader(npc.Character.Inventory.Count);
                foreach (var item in npc.Character.Inventory) { w.WriteArrayHeader(3); w.Write(item.Name); w.Write(item.Price); w.Write(item.Count); }
                w.Write(npc.Memory.Serialize());
            }
            w.Flush();
            SaveEnvelope.WriteFileAtomic(path, SaveEnvelope.Wrap(Magic, Version, buffer.WrittenSpan));
        }

        /// <summary>Restores into the given NPCs (matched by name); returns game time, or null when there is no save yet.</summary>
        public static double? Read(string path, PlayerState player, IReadOnlyList<NpcAgent> npcs, Func<Character, MemoryStore, NpcAgent> rebuild, List<NpcAgent> result)
        {
            if (!File.Exists(path)) return null;
            var payload = SaveEnvelope.Unwrap(File.ReadAllBytes(path), Magic, Version, "tavern save");
            try
            {
                var r = new MessagePackReader(payload);
                r.ReadArrayHeader();
                double hours = r.ReadDouble();
                player.Gold = r.ReadInt32();
                player.Inventory.Clear();
                int n = r.ReadArrayHeader();
                for (int i = 0; i < n; i++) player.Inventory.Add(r.ReadString()!);
                int count = r.ReadArrayHeader();
                var byName = new Dictionary<string, NpcAgent>();
                foreach (var a in npcs) byName[a.Character.Name] = a;
                for (int i = 0; i < count; i++)
                {
                    r.ReadArrayHeader();
                    string name = r.ReadString()!;
                    int items = r.ReadArrayHeader();
                    var stock = new List<InventoryItem>();
                    for (int j = 0; j < items; j++) { r.ReadArrayHeader(); stock.Add(new InventoryItem(r.ReadString()!, r.ReadInt32(), r.ReadInt32())); }
                    byte[] memory = r.ReadBytes()?.ToArray() ?? throw new InvalidOperationException("missing memory");
                    if (!byName.TryGetValue(name, out var agent)) continue;
                    agent.Character.Inventory = stock;
                    result.Add(rebuild(agent.Character, MemoryStore.Deserialize(memory, agent.Memory.Embedder)));
                    byName.Remove(name);
                }
                result.AddRange(byName.Values);
                return hours;
            }
            catch (Exception e) when (e is MessagePackSerializationException || e is InvalidOperationException || e is EndOfStreamException)
            {
                throw new SaveCorruptException(SaveProblem.Malformed, $"tavern save {path} is malformed: {e.Message}", e);
            }
        }
    }
}
