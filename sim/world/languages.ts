import { NUM_REGIONS } from '../../core/features/schema.ts';
import type { World } from './world.ts';

/**
 * Content and interface languages of the world (ISO 639-1 codes). Lab-only: the serving core's
 * record layouts (core/features/schema.ts) carry no language, so this list lives in sim/.
 */
export const LANGUAGES = [
  'en',
  'es',
  'pt',
  'fr',
  'de',
  'it',
  'ru',
  'tr',
  'ar',
  'hi',
  'bn',
  'id',
  'zh',
  'ja',
  'ko',
  'sw',
] as const;
export type Language = (typeof LANGUAGES)[number];
export const NUM_LANGUAGES = LANGUAGES.length;

/**
 * Share of each region's users (and creators) speaking each language, rows in `REGIONS` order,
 * columns in `LANGUAGES` order; each row sums to 1. Rough first-language shares of each region's
 * online population (order of magnitude after Ethnologue and W3Techs figures, simplified to one
 * language per person); a modelling assumption, not data.
 */
// biome-ignore format: one row per region reads as a table
export const REGION_LANGUAGE_WEIGHTS: readonly (readonly number[])[] = [
  //  en    es    pt    fr    de    it    ru    tr    ar    hi    bn    id    zh    ja    ko    sw
  [0.78, 0.14, 0,    0.04, 0,    0,    0,    0,    0.01, 0.01, 0,    0,    0.02, 0,    0,    0   ], // na
  [0.04, 0.64, 0.32, 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0   ], // latam
  [0.20, 0.10, 0.03, 0.15, 0.17, 0.11, 0.14, 0.07, 0.03, 0,    0,    0,    0,    0,    0,    0   ], // eu
  [0.40, 0,    0.08, 0.24, 0,    0,    0,    0,    0.14, 0,    0,    0,    0,    0,    0,    0.14], // africa
  [0.08, 0,    0,    0.06, 0,    0,    0,    0.14, 0.72, 0,    0,    0,    0,    0,    0,    0   ], // mena
  [0.24, 0,    0,    0,    0,    0,    0,    0,    0,    0.50, 0.26, 0,    0,    0,    0,    0   ], // south_asia
  [0.10, 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0.16, 0.46, 0.18, 0.10, 0   ], // east_asia
  [0.88, 0.02, 0,    0,    0,    0,    0,    0,    0,    0.03, 0,    0.02, 0.05, 0,    0,    0   ], // oceania
];

/** Language of video `v`: its creator's language (an index into `LANGUAGES`). */
export function videoLanguage(world: World, v: number): number {
  return world.creatorLanguage[world.videoCreator[v]];
}

/** Share of region `r`'s users speaking language `l` (the prior, not a count over the world). */
export function regionLanguageShare(r: number, l: number): number {
  return REGION_LANGUAGE_WEIGHTS[r][l];
}

if (REGION_LANGUAGE_WEIGHTS.length !== NUM_REGIONS) {
  throw new Error('languages.ts: REGION_LANGUAGE_WEIGHTS needs one row per region');
}
for (const row of REGION_LANGUAGE_WEIGHTS) {
  const sum = row.reduce((a, b) => a + b, 0);
  if (row.length !== NUM_LANGUAGES || Math.abs(sum - 1) > 1e-9) {
    throw new Error(
      `languages.ts: a row of REGION_LANGUAGE_WEIGHTS has ${row.length} entries summing to ${sum}`,
    );
  }
}
