import { buildApp } from '../app.ts';
import type { Core } from '../compose.ts';

/**
 * The OpenAPI 3.1 document of the core's HTTP app with every optional route present (/metrics,
 * POST /v1/events): what `reclab openapi` writes to docs/openapi.json and GET /openapi.json serves.
 *
 * The app is built over a stand-in core that only says which optional parts exist: building the app
 * reads nothing else of a core, and no request is ever made (a handler would fail on it).
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const describeOnly = { metrics: {}, events: {} } as unknown as Core;
  const app = buildApp(describeOnly, { logLevel: 'silent' });
  await app.ready();
  const doc = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  return doc;
}

/** The document as docs/openapi.json holds it: 2-space indented, one trailing newline. */
export async function openApiJson(): Promise<string> {
  return `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
}
