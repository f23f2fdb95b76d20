import { RANKER_INPUT_DIM } from '../features/schema.ts';
import { rankerFeatureNames } from '../registry/input-schema.ts';
import { BinnedWindow, binCounts, proportions, psi, quantileEdges } from './psi.ts';

/**
 * The served features whose drift the core watches (seed 000 §8 Tier 3 "Feature drift", seed 003
 * §9 "Data drift detection"), by label: the ranker-input column each reads (core/registry/
 * input-schema.ts names), and whether it is read once per request (user columns repeat on every
 * row) or on every candidate row. `ranker_p_click` is the main ranker's calibrated click head.
 */
export const DRIFT_FEATURES = {
  user_tenure: { column: 'user.log1p(tenure_days)/8', per: 'request' },
  user_watch_count: { column: 'user.log1p(watch_count)/8', per: 'request' },
  video_age: { column: 'video.log1p(age_h)/10', per: 'row' },
  video_views: { column: 'video.log_views/16', per: 'row' },
  video_duration: { column: 'video.log1p(duration_s)/8', per: 'row' },
  two_tower_affinity: { column: 'two_tower_affinity', per: 'row' },
  ranker_p_click: { column: 'p_click', per: 'row' },
} as const satisfies Record<string, { column: string; per: 'request' | 'row' }>;

/** One feature's training distribution: interior bin edges and the share of training values per bin. */
export interface FeatureDistribution {
  /** The ranker-input column name (or `p_click`), so a layout change is noticed. */
  column: string;
  per: 'request' | 'row';
  /** Ascending interior cut points; `edges.length + 1` bins (core/observability/psi.ts `binOf`). */
  edges: number[];
  /** Share (0–1) of the training values in each bin; sums to 1. */
  proportions: number[];
  /** Training values the proportions were counted on. */
  samples: number;
}

/**
 * The training distribution of the drift features, as the model card / manifest records it
 * (`manifest.trainingDistribution`, written by sim/models/build-artifacts.ts).
 */
export interface TrainingDistribution {
  /** What the values were taken from (e.g. the validation period's candidate lists). */
  source: string;
  features: Record<string, FeatureDistribution>;
}

/** Bins per feature in a recorded training distribution (deciles). */
export const DRIFT_BINS = 10;

/**
 * Records the training distribution of every DRIFT_FEATURES feature from candidate lists as the
 * ranker scores them: quantile edges (deciles, ties merged) and the proportions in each bin.
 * @param x row-major `Float32Array` of rows × RANKER_INPUT_DIM (`rankerInput` rows)
 * @param offsets the lists: rows `offsets[i] … offsets[i+1]` are one request's candidates
 * @param pClick the main ranker's calibrated click probability per row
 * @throws Error when the lengths disagree or there are no rows
 */
export function recordTrainingDistribution(
  x: Float32Array,
  offsets: ArrayLike<number>,
  pClick: ArrayLike<number>,
  source: string,
): TrainingDistribution {
  const rows = x.length / RANKER_INPUT_DIM;
  if (rows === 0 || pClick.length !== rows || offsets[offsets.length - 1] !== rows) {
    throw new Error(
      `recordTrainingDistribution: ${rows} rows, ${pClick.length} scores, offsets end ${offsets[offsets.length - 1]}`,
    );
  }
  const names = rankerFeatureNames();
  const features: Record<string, FeatureDistribution> = {};
  for (const [label, f] of Object.entries(DRIFT_FEATURES)) {
    const values: number[] = [];
    const col = names.indexOf(f.column);
    const at = (r: number) => (f.column === 'p_click' ? pClick[r] : x[r * RANKER_INPUT_DIM + col]);
    if (f.per === 'request') {
      for (let i = 0; i + 1 < offsets.length; i++)
        if (offsets[i + 1] > offsets[i]) values.push(at(offsets[i]));
    } else for (let r = 0; r < rows; r++) values.push(at(r));
    const edges = quantileEdges(values, DRIFT_BINS).map((e) => Math.fround(e));
    features[label] = {
      column: f.column,
      per: f.per,
      edges,
      proportions: proportions(binCounts(values, edges)),
      samples: values.length,
    };
  }
  return { source, features };
}

/**
 * Reads `manifest.trainingDistribution`: the features whose column the core knows and whose edges
 * and proportions agree (one more proportion than edges), or `undefined` when there is none.
 */
export function parseTrainingDistribution(value: unknown): TrainingDistribution | undefined {
  const v = value as Partial<TrainingDistribution> | null | undefined;
  if (!v || typeof v !== 'object' || !v.features || typeof v.features !== 'object') return undefined;
  const known = new Set(rankerFeatureNames());
  const features: Record<string, FeatureDistribution> = {};
  for (const [label, f] of Object.entries(v.features)) {
    const spec = DRIFT_FEATURES[label as keyof typeof DRIFT_FEATURES];
    if (!spec || f.column !== spec.column || (f.column !== 'p_click' && !known.has(f.column))) continue;
    if (!Array.isArray(f.edges) || !Array.isArray(f.proportions)) continue;
    if (f.proportions.length !== f.edges.length + 1 || f.edges.length + 1 > 256) continue;
    features[label] = { ...f, per: spec.per };
  }
  return Object.keys(features).length > 0 ? { source: String(v.source ?? ''), features } : undefined;
}

/** One feature's drift now, for `/metrics`. */
export interface DriftReading {
  feature: string;
  modelVersion: string;
  /** Values in the window. */
  samples: number;
  /** PSI of the window against the training distribution; absent until the window is full. */
  psi?: number;
}

interface WatchedFeature {
  window: BinnedWindow;
  expected: number[];
  /** The ranker-input column, or -1 for the click head. */
  column: number;
  per: 'request' | 'row';
}

interface VersionWindows {
  windows: Map<string, WatchedFeature>;
  /** The same windows as an array, for the per-request loop. */
  list: WatchedFeature[];
  lastSeen: number;
}

/**
 * Watches the served values of DRIFT_FEATURES against a model version's training distribution
 * (seed 003 §9: PSI, 0.1 warn, 0.25 act). Per model version that served (a swap or an experiment
 * variant brings its own reference), each feature keeps a sliding window of its last `windowSize`
 * values (`BinnedWindow`); `readings()` gives each window's PSI once it is full. A window of values
 * rather than of time: the PSI's noise depends on how many values it is counted on (about
 * (bins − 1) / windowSize when nothing drifted), not on how long they took to arrive.
 * Sans-I/O and synchronous; observing a request costs one binary search per value, in one loop per
 * feature over typed arrays (`BinnedWindow.addStrided`), with no allocation.
 */
export class DriftMonitor {
  readonly windowSize: number;
  readonly #maxVersions: number;
  readonly #versions = new Map<string, VersionWindows>();
  #tick = 0;

  /** Defaults: windows of 20,000 values; at most 4 model versions watched (the least recent dropped). */
  constructor(opts: { windowSize?: number; maxVersions?: number } = {}) {
    this.windowSize = opts.windowSize ?? 20_000;
    this.#maxVersions = opts.maxVersions ?? 4;
  }

  /**
   * Observes one ranked request of `set`: its `rankerInput` rows (row-major n × RANKER_INPUT_DIM)
   * and, when the main ranker scored every row, its click head. Does nothing for a set without a
   * training distribution.
   */
  observe(
    set: { modelVersion: string; trainingDistribution?: TrainingDistribution },
    input: Float32Array,
    n: number,
    pClick?: ArrayLike<number>,
  ): void {
    const reference = set.trainingDistribution;
    if (!reference || n === 0) return;
    const v = this.#windowsOf(set.modelVersion, reference);
    v.lastSeen = ++this.#tick;
    const list = v.list;
    for (let i = 0; i < list.length; i++) {
      const w = list[i];
      if (w.column < 0) {
        if (!pClick || pClick.length !== n) continue;
        w.window.addStrided(pClick, 0, 1, n);
      } else if (w.per === 'request') w.window.addStrided(input, w.column, 0, 1);
      else w.window.addStrided(input, w.column, RANKER_INPUT_DIM, n);
    }
  }

  /** Every watched feature of every watched version: samples, and the PSI once its window is full. */
  readings(): DriftReading[] {
    const out: DriftReading[] = [];
    for (const [modelVersion, v] of this.#versions) {
      for (const [feature, w] of v.windows) {
        const reading: DriftReading = { feature, modelVersion, samples: w.window.samples };
        if (w.window.samples === w.window.size) reading.psi = psi(w.expected, w.window.proportions());
        out.push(reading);
      }
    }
    return out;
  }

  #windowsOf(modelVersion: string, reference: TrainingDistribution): VersionWindows {
    const known = this.#versions.get(modelVersion);
    if (known) return known;
    if (this.#versions.size >= this.#maxVersions) {
      const oldest = [...this.#versions].sort((a, b) => a[1].lastSeen - b[1].lastSeen)[0][0];
      this.#versions.delete(oldest);
    }
    const names = rankerFeatureNames();
    const windows: VersionWindows['windows'] = new Map();
    for (const [feature, f] of Object.entries(reference.features)) {
      windows.set(feature, {
        window: new BinnedWindow(f.edges, this.windowSize),
        expected: f.proportions,
        column: f.column === 'p_click' ? -1 : names.indexOf(f.column),
        per: f.per,
      });
    }
    const v = { windows, list: [...windows.values()], lastSeen: 0 };
    this.#versions.set(modelVersion, v);
    return v;
  }
}
