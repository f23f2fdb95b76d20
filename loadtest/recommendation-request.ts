/** Items each simulated request asks for (`count`); fewer in a 200 response is a short list. */
export const PAGE_COUNT = 30;

/** The headers of every simulated request (one object, not one per request). */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
});

/**
 * The body of user index `u`'s `POST /v1/recommendations`: what
 * `JSON.stringify({ user_id: 'u_<u>', count, context: { region } })` gives, written out without
 * building the object (issue 10: the runner's CPU per request). `region` must need no JSON escape
 * (the region names of core/features/schema.ts are plain identifiers).
 */
export function recommendationBody(u: number, region: string, count: number): string {
  return `{"user_id":"u_${u}","count":${count},"context":{"region":"${region}"}}`;
}
