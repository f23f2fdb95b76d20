import { timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ReclabError } from '../errors.ts';

/**
 * Who may call the routes that change what the core serves: `/admin/*` (model swap, rollback,
 * faults) and `POST /v1/videos/fresh` (indexes uploads).
 *
 * - `{ token }`: callers must send `Authorization: Bearer <token>` (RECLAB_ADMIN_TOKEN);
 * - `'open'`: anyone who reaches the port (a core bound to loopback only, or the explicit opt-out
 *   RECLAB_ADMIN_OPEN=always behind a proxy that authenticates);
 * - `'closed'`: nobody (no token, bound beyond loopback): the safe default.
 *
 * Refusals are 401 RECLAB_ERR_ADMIN_UNAUTHORIZED with `WWW-Authenticate: Bearer`.
 */
export type AdminAccess = { token: string } | 'open' | 'closed';

/** Whether `host` (RECLAB_HOST) binds loopback only: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/**
 * The access the configuration gives: a token always wins; without one the routes are open on a
 * loopback-bound core (`open: 'loopback'`, the default) or on any address (`open: 'always'`, the
 * documented opt-out), and closed otherwise.
 */
export function adminAccessOf(cfg: {
  adminToken?: string;
  host: string;
  adminOpen: 'loopback' | 'always';
}): AdminAccess {
  if (cfg.adminToken) return { token: cfg.adminToken };
  if (cfg.adminOpen === 'always' || isLoopbackHost(cfg.host)) return 'open';
  return 'closed';
}

/** Constant-time comparison of the `Authorization: Bearer …` header with `token`. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = header?.match(/^Bearer[ \t]+(.+)$/i);
  const given = Buffer.from(m ? m[1].trim() : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * An `onRequest` hook that enforces `access` (runs before the body is read, so a refused caller's
 * body is never parsed).
 * @throws ReclabError RECLAB_ERR_ADMIN_UNAUTHORIZED (401) when the caller may not use the route
 */
export function adminGuard(access: AdminAccess) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (access === 'open') return;
    if (access !== 'closed' && tokenMatches(req.headers.authorization, access.token)) return;
    reply.header('www-authenticate', 'Bearer realm="reclab-admin"');
    throw new ReclabError(
      'RECLAB_ERR_ADMIN_UNAUTHORIZED',
      access === 'closed'
        ? 'no RECLAB_ADMIN_TOKEN is configured and the core is not bound to loopback'
        : 'missing or wrong bearer token',
    );
  };
}
