/**
 * `reclab calibrate`: measures the live core on this machine and writes the fleet file the
 * simulator loads (`reclab sim --fleet <dir>/fleet.json`), plus a report of what was measured.
 *
 * One live run of the baseline world (real Redis, Kafka, FAISS, ONNX Runtime; open-model load) at a
 * low rate, so that requests rarely wait for each other: each response's stage timings go into
 * HdrHistograms, and the core's process CPU and answered requests are read from its /metrics before
 * and after the measured phase. `fitFleet` (fit.ts) turns them into service-time distributions.
 * The report records the machine, since times measured here do not carry to another one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runScenario } from '../../loadtest/run.ts';
import { type MachineInfo, machineInfo } from '../../reports/machine.ts';
import { type CoreCounters, readCoreCounters } from './core-metrics.ts';
import { fitFleet } from './fit.ts';
import { MEASURED_PHASE, measuredBaseline } from './measured-scenario.ts';
import { STAGES, StageSamples } from './stage-samples.ts';

export interface CalibrateOptions {
  seed: number;
  /** Arrival rate of the measured phase, requests/s; low enough that requests rarely queue. */
  qps: number;
  durationS: number;
  outDir: string;
  runsRoot: string;
  cacheDir: string;
  env: Record<string, string | undefined>;
  log: (line: string) => void;
}

export interface CalibrationReport {
  /** Times measured on one machine do not carry to another. */
  machine: MachineInfo;
  measuredAt: string;
  command: string;
  qps: number;
  durationS: number;
  responses: number;
  cpuPerRequestUs: number;
  /** Per stage: samples and p50/p90/p99 in µs. */
  stages: Record<string, { count: number; p50: number; p90: number; p99: number }>;
  notes: string[];
  liveRun: { runId: string; exitCode: number };
}

/**
 * Runs the calibration; returns the report and the paths written.
 * @throws Error when the run measured no responses or the core's /metrics is unreadable
 */
export async function calibrate(
  o: CalibrateOptions,
): Promise<{ report: CalibrationReport; fleetPath: string; reportPath: string }> {
  const scenario = measuredBaseline('calibrate', o.qps, o.durationS);
  const stages = new StageSamples();
  let before: CoreCounters | undefined;
  let after: CoreCounters | undefined;
  const summary = await runScenario({
    scenario,
    seed: o.seed,
    infra: 'testcontainers',
    env: o.env,
    outRoot: o.runsRoot,
    cacheDir: o.cacheDir,
    log: o.log,
    probe: {
      phaseStart: async (phase, url) => {
        if (phase === MEASURED_PHASE) before = await readCoreCounters(url);
      },
      phaseEnd: async (phase, url) => {
        if (phase === MEASURED_PHASE) after = await readCoreCounters(url);
      },
      served: (phase, served) => {
        if (phase === MEASURED_PHASE) stages.record(served?.meta?.timings_ms);
      },
    },
  });
  if (!before || !after || stages.responses === 0)
    throw new Error(`calibration run ${summary.runId} measured no responses (exit ${summary.exitCode})`);
  const requests = after.recommendations - before.recommendations;
  const cpuPerRequestUs = ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, requests);
  const machine = machineInfo();
  const { fleet, notes } = fitFleet({ stages, cpuPerRequestUs }, `calibrated-${machine.cpus}cpu`);

  const report: CalibrationReport = {
    machine,
    measuredAt: new Date().toISOString(),
    command: `reclab calibrate --qps ${o.qps} --duration ${o.durationS} --seed ${o.seed}`,
    qps: o.qps,
    durationS: o.durationS,
    responses: stages.responses,
    cpuPerRequestUs: Math.round(cpuPerRequestUs),
    stages: Object.fromEntries(
      STAGES.map((s) => [
        s,
        {
          count: stages.count(s),
          p50: stages.percentileUs(s, 50),
          p90: stages.percentileUs(s, 90),
          p99: stages.percentileUs(s, 99),
        },
      ]),
    ),
    notes,
    liveRun: { runId: summary.runId, exitCode: summary.exitCode },
  };
  await mkdir(o.outDir, { recursive: true });
  const fleetPath = join(o.outDir, 'fleet.json');
  const reportPath = join(o.outDir, 'calibration.json');
  await writeFile(fleetPath, `${JSON.stringify(fleet, null, 2)}\n`);
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return { report, fleetPath, reportPath };
}
