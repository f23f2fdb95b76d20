import type { World } from './world.ts';

/** Default width of a signup cohort: 30 days, in seconds. */
export const COHORT_WIDTH_S = 30 * 86_400;

/**
 * Signup cohort of user `u`, counted back from the world's `nowS` in steps of `cohortWidthS`
 * seconds: 0 for users who signed up in `(nowS − width, nowS]`, 1 for the width before, and so on.
 * Users arriving after `nowS` (see `arrivalWindowS`) get −1 for `(nowS, nowS + width]`, −2 after.
 * Derived from `userSignupS`; nothing is stored.
 */
export function signupCohort(world: World, u: number, cohortWidthS: number = COHORT_WIDTH_S): number {
  const ageS = world.config.nowS - world.userSignupS[u];
  return ageS >= 0 ? Math.floor(ageS / cohortWidthS) : -Math.ceil(-ageS / cohortWidthS);
}
