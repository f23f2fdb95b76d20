/**
 * Kubernetes objects for load beyond one machine (issue 14; docs/distributed-load.md):
 * - `reclab k8s job`: a ConfigMap with the scenario (JSON, as run: scaled) and a `batch/v1` Job with
 *   `completionMode: Indexed`, `completions = parallelism = N`, whose pod i runs
 *   `reclab load /scenario/scenario.json --segment i/N` (i from the pod's completion-index
 *   annotation, the value of JOB_COMPLETION_INDEX) and prints its partial result to stdout as one
 *   JSON line, which `kubectl logs` brings back for `reclab merge` (no volume to share or copy from).
 * - `reclab k6 export --operator`: a ConfigMap with the k6 script and a k6-operator `TestRun`
 *   (k6.io/v1alpha1) with `parallelism = N`: k6-operator gives each runner pod an execution segment.
 * Plain objects; tests validate them with kubernetes-models (Job, ConfigMap) and with ajv against the
 * TestRun CRD's openAPIV3Schema (test/reference/k6-operator/, copied from k6-operator v1.6.0).
 */
import type { ScenarioDefinition } from '../../scenarios/define.ts';

export interface JobOptions {
  scenario: ScenarioDefinition;
  seed: number;
  parallelism: number;
  target: string;
  image: string;
  namespace?: string;
  /** Start phase 0 of every pod at this time (ISO 8601): pods then follow one timetable. */
  startAt?: string;
}

/** A DNS-1123 name from a scenario name and a suffix. */
const nameOf = (scenario: string, suffix: string) =>
  `reclab-${scenario}-${suffix}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
    .replace(/-+$/, '');

/** The first line of a pod's partial result on stdout starts with this. */
export const PARTIAL_LINE_PREFIX = '{"format":"reclab.partial-result/1"';

/** [ConfigMap, Job] for an Indexed Job of `parallelism` segments. */
export function loadJobManifests(o: JobOptions): [Record<string, unknown>, Record<string, unknown>] {
  const cm = nameOf(o.scenario.name, 'scenario');
  const labels = { 'app.kubernetes.io/name': 'reclab-load', 'reclab.dev/scenario': o.scenario.name };
  const meta = (name: string) => ({ name, ...(o.namespace ? { namespace: o.namespace } : {}), labels });
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(cm),
    data: { 'scenario.json': JSON.stringify(o.scenario, null, 2) },
  };
  const args = [
    'load',
    '/scenario/scenario.json',
    '--segment',
    `$(SEGMENT_INDEX)/${o.parallelism}`,
    '--target',
    o.target,
    '--seed',
    String(o.seed),
    '--out',
    '/dev/stdout',
    ...(o.startAt ? ['--start-at', o.startAt] : []),
  ];
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(nameOf(o.scenario.name, 'load')),
    spec: {
      completionMode: 'Indexed',
      completions: o.parallelism,
      parallelism: o.parallelism,
      // A failed segment is not retried: a rerun would send its share at another time.
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'load',
              image: o.image,
              command: ['reclab'],
              args,
              env: [
                {
                  // The pod's completion index (what JOB_COMPLETION_INDEX holds), read from its
                  // annotation so `$(SEGMENT_INDEX)` in args is expanded by Kubernetes itself.
                  name: 'SEGMENT_INDEX',
                  valueFrom: {
                    fieldRef: {
                      fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
                    },
                  },
                },
              ],
              volumeMounts: [{ name: 'scenario', mountPath: '/scenario', readOnly: true }],
              resources: { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
            },
          ],
          volumes: [{ name: 'scenario', configMap: { name: cm } }],
        },
      },
    },
  };
  return [configMap, job];
}

export interface TestRunOptions {
  scenarioName: string;
  script: string;
  parallelism: number;
  namespace?: string;
}

/** [ConfigMap with the script, k6-operator TestRun]. */
export function k6OperatorManifests(o: TestRunOptions): [Record<string, unknown>, Record<string, unknown>] {
  const cm = nameOf(o.scenarioName, 'k6-script');
  const file = `${o.scenarioName}.k6.js`;
  const ns = o.namespace ? { namespace: o.namespace } : {};
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: cm, ...ns }, data: { [file]: o.script } },
    {
      apiVersion: 'k6.io/v1alpha1',
      kind: 'TestRun',
      metadata: { name: nameOf(o.scenarioName, 'k6'), ...ns },
      spec: {
        parallelism: o.parallelism,
        script: { configMap: { name: cm, file } },
        arguments: '--tag reclab_scenario=' + o.scenarioName,
      },
    },
  ];
}
