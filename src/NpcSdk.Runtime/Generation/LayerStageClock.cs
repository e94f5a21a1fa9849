using System;
using System.Diagnostics;
using NpcSdk.Models;
using NpcSdk.Scheduling;

namespace NpcSdk.Generation
{
    /// <summary>
    /// Runs a forward pass's layer part by part (<see cref="ForwardPass.RunNextStage"/>) and times the parts: when the
    /// last part of a layer ran, the parts' shares go to the cost model and <see cref="TotalMs"/> is the layer's time.
    /// Shared by a session's own steps and by decode batches.
    /// </summary>
    internal sealed class LayerStageClock
    {
        private readonly double[] _ms = new double[ForwardPass.StagesPerLayer];

        /// <summary>The time of the current layer's parts run so far (all of them once the layer is done).</summary>
        public double TotalMs { get; private set; }

        /// <summary>Runs the next part of <paramref name="pass"/>'s next layer; returns true when that ended the layer.</summary>
        public bool RunNext(ForwardPass pass, KvCache? cache, SliceCostModel costs)
        {
            int stage = pass.NextStage;
            if (stage == 0)
            {
                Array.Clear(_ms, 0, _ms.Length);
                TotalMs = 0;
            }
            long t0 = Stopwatch.GetTimestamp();
            pass.RunNextStage(cache);
            double ms = (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency;
            _ms[stage] = ms;
            TotalMs += ms;
            if (pass.NextStage != 0) return false;
            costs.ObserveStages(_ms);
            return true;
        }
    }
}
