import { defineScenario } from './define.ts';

/**
 * Cold start (the product brief's second scenario; seed 000 Q1 "new users: popularity and
 * region/language priors", §2.4 and §7 "new videos: a small fresh index"; issue 12). In the `wave`
 * phase, two things arrive at once (loadtest/cold-start.ts):
 *
 * - **2,000 new users**, 30% of the requests from then on: they have no record in Redis, only the
 *   sign-up context their requests carry (region). The core must serve them from its priors — a
 *   cold start on the full pipeline with region-shaped defaults, the region's popularity — never
 *   with an error, and their lists' ground-truth quality is reported against the warm users'.
 * - **200 new uploads** (the world's newest videos, held back from the start: not in Redis, the
 *   popularity sets or the core's ANN indexes), uploaded over the phase's first 10 s with
 *   `POST /v1/videos/fresh`. They must become retrievable through the fresh index at once (the
 *   main index is rebuilt only every few hours: seed 000 §7), reach served lists within seconds,
 *   and get exploration slots (under-exposed, a few minutes old: core/pipeline/rerank.ts).
 *
 * The report has the fresh-content share (new-upload items ÷ items) per phase, the catalogue
 * coverage, and cold against warm users' quality (`coldStart` and `quality.cohorts` in the result).
 */
export const coldStart = defineScenario({
  name: 'cold-start',
  description:
    'A wave of 2,000 new users (30% of requests) and 200 new uploads; new users served from priors with zero errors, uploads retrievable through the fresh index within seconds and explored',
  world: { users: 20_000, videos: 10_000 },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 5, warmup: true },
    { name: 'steady', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 15 },
    {
      name: 'wave',
      arrivals: { kind: 'constant', rateQps: 100 },
      durationS: 30,
      newUsers: { users: 2_000, share: 0.3 },
      uploads: { videos: 200, atS: 0, overS: 10 },
    },
    { name: 'after', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 15 },
  ],
  assertions: [
    // Never an error, for new users as for the others; every page full.
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'short_lists', stat: 'count', op: '==', value: 0 },
    { metric: 'rung_share', rung: 'full', phase: 'steady', stat: 'rate', op: '>=', value: 0.99 },
    // New users are a cold start on the full pipeline, not a degradation.
    { metric: 'rung_share', rung: 'full', phase: 'wave', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'http_req_duration', phase: 'wave', stat: 'p(99)', op: '<=', value: 200 },
    // Uploads: never served before their upload, every one indexed at once (a failed announcement
    // is never served), explored. The thresholds below the measured figures (docs/scenarios.md):
    // within the run a quarter to a third of the uploads are served (23.5–30.5% in 13 runs of seed 7,
    // mean 26.9%) and they are a fraction of a percent of the items. 20% guards against a
    // regression (exploration or the fresh index broken: 0%) without flipping on run-to-run noise.
    { metric: 'uploads_leaked', stat: 'count', op: '==', value: 0 },
    { metric: 'uploads_served_share', stat: 'rate', op: '>=', value: 0.2 },
    { metric: 'uploads_exploration_share', phase: 'wave', stat: 'rate', op: '>', value: 0 },
    { metric: 'uploads_item_share', phase: 'after', stat: 'rate', op: '>', value: 0.002 },
    // Cold users' lists against warm users' (same phase); coverage kept. New users get region
    // priors, less varied lists: after's coverage was 0.784–0.864 of steady's in 13 runs of seed 7
    // (mean 0.828, sd 0.023; docs/scenarios.md). 0.75 is about 3 sd below the mean, so noise alone
    // does not flip it; lists collapsed onto a few videos would.
    {
      metric: 'quality.expected_watch_time',
      phase: 'wave',
      cohort: 'cold',
      stat: 'ratio_to',
      baseline: 'wave',
      baselineCohort: 'warm',
      op: '>=',
      value: 0.5,
    },
    {
      metric: 'quality.coverage',
      phase: 'after',
      stat: 'ratio_to',
      baseline: 'steady',
      op: '>=',
      value: 0.75,
    },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
  ],
});
