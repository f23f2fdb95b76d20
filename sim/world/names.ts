import { base, en, Faker } from '@faker-js/faker';
import { CATEGORIES } from '../../core/features/schema.ts';
import type { World } from './world.ts';

/**
 * Display names, generated on demand by index so a world of a million users stores none of them.
 * Each call reseeds a private faker instance with `(world.namesSeed, kind, index)`, so a name does
 * not depend on which other names were generated before it. About 50 µs per name.
 */
const faker = new Faker({ locale: [en, base] });

/** Display name of user `i`, e.g. "Gerson Welch". */
export function userName(world: World, i: number): string {
  faker.seed([world.namesSeed, 1, i]);
  return faker.person.fullName();
}

/** Channel name of creator `i`, e.g. "Welch Cooking". */
export function creatorName(world: World, i: number): string {
  faker.seed([world.namesSeed, 2, i]);
  const category = CATEGORIES[world.creatorCategory[i]];
  return `${faker.person.lastName()} ${category[0].toUpperCase()}${category.slice(1)}`;
}

/** Title of video `i`, e.g. "Cooking: quantify the robust paradigms". */
export function videoTitle(world: World, i: number): string {
  faker.seed([world.namesSeed, 3, i]);
  const category = CATEGORIES[world.videoCategory[i]];
  return `${category[0].toUpperCase()}${category.slice(1)}: ${faker.company.buzzPhrase()}`;
}
