/**
 * The OpenAPI 3.1 document (issue 16): docs/openapi.json is what `reclab openapi` writes now (a
 * stale file fails: run `npm run reclab -- openapi`), it validates as OpenAPI 3.1
 * (@seriousme/openapi-schema-validator), it has every route of the app with request and response
 * schemas, and GET /openapi.json serves the same document.
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { RouteOptions } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { openApiJson } from '../../core/http/openapi-document.ts';
import { buildTestApp } from '../helpers/test-app.ts';

const file = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');
const doc = JSON.parse(file) as {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
};

// The routes the app adds (they are added when its plugins load, so a hook set now hears them all).
const { app } = await buildTestApp({ admin: 'open' });
const routes: { method: string; url: string; hasBody: boolean }[] = [];
app.addHook('onRoute', (r: RouteOptions) => {
  for (const m of [r.method].flat()) {
    if (m !== 'HEAD') routes.push({ method: m.toLowerCase(), url: r.url, hasBody: Boolean(r.schema?.body) });
  }
});
await app.ready();
afterAll(() => app.close());

/** Fastify's `:param` as OpenAPI's `{param}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

describe('docs/openapi.json', () => {
  it('is what `reclab openapi` writes', async () => {
    expect(file).toBe(await openApiJson());
  });

  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const res = await validator.validate(doc);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expect([res.valid, validator.version, doc.openapi]).toEqual([true, '3.1', '3.1.0']);
  });

  it('has every route of the app, each with its request body schema, a success and a problem response', () => {
    expect(routes.length).toBeGreaterThanOrEqual(14);
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method];
      expect(op, `${r.method} ${r.url}`).toBeDefined();
      if (!op) continue;
      expect(Boolean(op.requestBody), `${r.method} ${r.url} request body`).toBe(r.hasBody);
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => /^2\d\d$/.test(s)),
        `${r.method} ${r.url} success`,
      ).toBe(true);
      expect(op.responses.default, `${r.method} ${r.url} default`).toMatchObject({
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
      });
    }
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
  });

  it('documents Retry-After on every 503 and WWW-Authenticate on every 401', () => {
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        const r = op.responses as Record<string, { headers?: Record<string, unknown> }>;
        if (r['503']) expect(Object.keys(r['503'].headers ?? {})).toContain('retry-after');
        if (r['401']) expect(Object.keys(r['401'].headers ?? {})).toContain('www-authenticate');
      }
    }
  });

  it('is served at GET /openapi.json', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(doc);
  });
});
