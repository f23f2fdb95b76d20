/**
 * A Toxiproxy server (github.com/Shopify/toxiproxy, v2.8.0) in a container, for network faults
 * between the core and Redis or Kafka (loadtest/faults/toxiproxy-faults.ts, docs/faults.md).
 *
 * Started through Testcontainers from the locally built `localhost/reclab-toxiproxy:2.8.0`
 * (scripts/setup/32-image-toxiproxy.sh; `RECLAB_TOXIPROXY_IMAGE` overrides it) and driven through
 * its HTTP API with toxiproxy-node-client (`@testcontainers/toxiproxy` needs Node 22).
 *
 * Host networking: the container shares the host's network namespace, its API and every proxy
 * listen on 127.0.0.1 only, and upstreams are host addresses (`127.0.0.1:<published port>`). Why not
 * a bridge network: a proxy's port would have to be published when the container starts, and an
 * upstream would be the target container's bridge IP, which podman reassigns when a stopped
 * container starts again (measured: 10.88.1.15 → .17), breaking the proxy after the lab's own
 * stop/start and restart-empty faults. A published host port survives those. Kafka needs the
 * proxy's address before the broker starts (it advertises it): on the host that is a port the proxy
 * already listens on (loadtest/infra/network-proxies.ts). Cost: host networking needs a Linux engine
 * (not Docker Desktop's VM).
 */

import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers';
import { Toxiproxy } from 'toxiproxy-node-client';
import { configureContainerEngine } from './container-engine.ts';
import { findFreePort } from './free-port.ts';

/** The image built by scripts/setup/32-image-toxiproxy.sh. */
export const DEFAULT_TOXIPROXY_IMAGE = 'localhost/reclab-toxiproxy:2.8.0';
/** Budget for one start attempt: container start + API answering /version, in milliseconds. */
export const DEFAULT_TOXIPROXY_STARTUP_TIMEOUT_MS = 20_000;
/** Start attempts in all (a host port chosen for the API can be taken before the server binds it). */
const MAX_START_ATTEMPTS = 3;
/** Loopback: nothing the lab proxies is reachable from another machine. */
const LOOPBACK = '127.0.0.1';

/** Stable codes of the errors this module throws; callers match on `code`, never on the message. */
export type ToxiproxyInfraErrorCode = 'RECLAB_ERR_INFRA_TOXIPROXY_START' | 'RECLAB_ERR_INFRA_TOXIPROXY_PROXY';

/**
 * Toxiproxy could not be provided or refused a proxy. `code` is `RECLAB_ERR_INFRA_TOXIPROXY_START`
 * (container did not start or its API never answered) or `RECLAB_ERR_INFRA_TOXIPROXY_PROXY` (a
 * proxy could not be created); the message names the likely fix; `cause` holds the underlying error.
 */
export class ToxiproxyInfraError extends Error {
  readonly code: ToxiproxyInfraErrorCode;

  constructor(code: ToxiproxyInfraErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToxiproxyInfraError';
    this.code = code;
  }
}

/** Where a proxy listens, for clients. */
export interface ProxyAddress {
  /** The proxy's name in Toxiproxy (what faults name). */
  name: string;
  /** Always `127.0.0.1`. */
  host: string;
  /** The port the proxy listens on (chosen by the OS when the proxy was created). */
  port: number;
  /** `host:port` the proxy forwards to. */
  upstream: string;
}

/** A running Toxiproxy server; `await using` stops it. */
export interface StartedToxiproxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, the HTTP API. */
  readonly apiUrl: string;
  /** toxiproxy-node-client bound to `apiUrl`. */
  readonly client: Toxiproxy;
  /** The container (host network mode). */
  readonly container: StartedTestContainer;
  /** What GET /version answered, e.g. `v2.8.0`. */
  readonly version: string;
  /** Wall time from the start request to the API answering, in milliseconds. */
  readonly startMs: number;
  /**
   * Creates proxy `name` listening on 127.0.0.1 (port chosen by the OS) and forwarding to
   * `upstream` (`host:port` as seen from the host), replacing a proxy of that name.
   * @throws ToxiproxyInfraError RECLAB_ERR_INFRA_TOXIPROXY_PROXY when the API refuses it
   */
  proxy(name: string, upstream: string): Promise<ProxyAddress>;
  /** Stops and removes the container. Idempotent. */
  stop(): Promise<void>;
}

/** Options of `startToxiproxy`. */
export interface StartToxiproxyOptions {
  /** Image to run; default `$RECLAB_TOXIPROXY_IMAGE`, else `localhost/reclab-toxiproxy:2.8.0`. */
  image?: string;
  /**
   * Seed of Toxiproxy's random draws (latency jitter), passed as `-seed`; default 1. The server
   * draws from one generator shared by all connections, so the jitter sequence is reproducible but
   * which request gets which draw depends on timing.
   */
  seed?: number;
  /** Budget per start attempt, in milliseconds; default 20 000. */
  startupTimeoutMs?: number;
}

/**
 * Starts Toxiproxy with host networking, its API on 127.0.0.1:<free port>, and resolves once GET
 * /version answers. Retries (3 attempts in all) when the API port was taken in between.
 *
 * @throws ToxiproxyInfraError RECLAB_ERR_INFRA_TOXIPROXY_START when no attempt succeeds (image
 *   missing, engine unreachable, the API not answering within `startupTimeoutMs`).
 */
export async function startToxiproxy(opts: StartToxiproxyOptions = {}): Promise<StartedToxiproxy> {
  configureContainerEngine(process.env);
  const image = opts.image ?? process.env.RECLAB_TOXIPROXY_IMAGE ?? DEFAULT_TOXIPROXY_IMAGE;
  const timeoutMs = opts.startupTimeoutMs ?? DEFAULT_TOXIPROXY_STARTUP_TIMEOUT_MS;
  const seed = opts.seed ?? 1;
  const t0 = performance.now();
  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
    const apiPort = await findFreePort();
    try {
      const { container, version } = await startOnce(image, apiPort, seed, timeoutMs);
      return started(container, `http://${LOOPBACK}:${apiPort}`, version, performance.now() - t0);
    } catch (err) {
      lastError = err;
      if (!/address already in use/i.test(errorText(err))) break;
    }
  }
  throw startError(image, lastError);
}

/** GenericContainer that remembers the id of the container it created (see loadtest/infra/redis.ts). */
class TrackedContainer extends GenericContainer {
  createdId: string | undefined;

  protected override async containerCreated(containerId: string): Promise<void> {
    this.createdId = containerId;
  }
}

async function startOnce(
  image: string,
  apiPort: number,
  seed: number,
  timeoutMs: number,
): Promise<{ container: StartedTestContainer; version: string }> {
  const deadline = performance.now() + timeoutMs;
  const logTail: string[] = [];
  const builder = new TrackedContainer(image)
    .withNetworkMode('host')
    .withCommand(['-host', LOOPBACK, '-port', String(apiPort), '-seed', String(seed)])
    // Logged just before the API binds its port; /version below proves it did.
    .withWaitStrategy(Wait.forLogMessage(/Starting Toxiproxy HTTP server/))
    .withStartupTimeout(timeoutMs)
    .withLogConsumer((stream) => {
      stream.on('data', (chunk: Buffer | string) => {
        for (const line of String(chunk).split('\n')) {
          if (line.trim() === '') continue;
          logTail.push(line.trim());
          if (logTail.length > 10) logTail.shift();
        }
      });
    });
  let container: StartedTestContainer | undefined;
  try {
    container = await builder.start();
    const version = await versionWhenReady(`http://${LOOPBACK}:${apiPort}`, deadline, logTail);
    return { container, version };
  } catch (err) {
    if (container) await container.stop().catch(() => {});
    else if (builder.createdId) await removeQuietly(builder.createdId);
    if (logTail.length > 0 && err instanceof Error) {
      err.message += `\ncontainer log (last lines):\n  ${logTail.join('\n  ')}`;
    }
    throw err;
  }
}

/** Polls GET /version until it answers `{"version": …}`; a bind error in the log ends it early. */
async function versionWhenReady(apiUrl: string, deadline: number, logTail: string[]): Promise<string> {
  for (;;) {
    try {
      const res = await fetch(`${apiUrl}/version`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { version?: unknown };
      if (res.ok && typeof body.version === 'string') return body.version;
      throw new Error(`GET /version answered ${res.status} ${JSON.stringify(body)}`);
    } catch (err) {
      const bindError = logTail.find((l) => /address already in use/i.test(l));
      if (bindError) throw new Error(bindError);
      if (performance.now() + 100 > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function started(
  container: StartedTestContainer,
  apiUrl: string,
  version: string,
  startMs: number,
): StartedToxiproxy {
  const client = new Toxiproxy(apiUrl);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= container.stop().then(() => undefined);
    return stopping;
  };
  const proxy = async (name: string, upstream: string): Promise<ProxyAddress> => {
    try {
      // Replace, not update: a stale proxy of that name would keep its toxics and its listen port.
      const existing = await client.getAll();
      if (existing[name]) await existing[name].remove();
      const p = await client.createProxy({ name, listen: `${LOOPBACK}:0`, upstream });
      // The server answers with the address it bound (port 0 replaced by the OS's choice).
      const port = Number(p.listen.slice(p.listen.lastIndexOf(':') + 1));
      if (!Number.isInteger(port) || port <= 0) throw new Error(`unexpected listen address ${p.listen}`);
      return { name, host: LOOPBACK, port, upstream };
    } catch (err) {
      throw new ToxiproxyInfraError(
        'RECLAB_ERR_INFRA_TOXIPROXY_PROXY',
        `Toxiproxy at ${apiUrl} did not create proxy "${name}" → ${upstream}: ${errorText(err)}`,
        { cause: err },
      );
    }
  };
  return { apiUrl, client, container, version, startMs, proxy, stop, [Symbol.asyncDispose]: stop };
}

/** Force-removes a container by id, ignoring errors (it may already be gone). */
async function removeQuietly(containerId: string): Promise<void> {
  try {
    const runtime = await getContainerRuntimeClient();
    await runtime.container.getById(containerId).remove({ force: true });
  } catch {
    // Best effort: the caller is already reporting the real failure.
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Builds the RECLAB_ERR_INFRA_TOXIPROXY_START error, with a fix matched to the failure when known. */
function startError(image: string, cause: unknown): ToxiproxyInfraError {
  const detail = errorText(cause);
  let fix = 'run scripts/setup.sh (starts the podman API socket and builds the image)';
  if (
    /no such image|image not known|pull access denied|manifest unknown|repository does not exist/i.test(
      detail,
    )
  ) {
    fix = `image "${image}" is missing: run scripts/setup.sh (or bash scripts/setup/32-image-toxiproxy.sh)`;
  } else if (/container runtime strategy|ENOENT|ECONNREFUSED.*sock|connect EACCES/i.test(detail)) {
    fix = 'no container engine answered: run scripts/setup.sh (scripts/setup/20-podman.sh starts podman)';
  }
  return new ToxiproxyInfraError(
    'RECLAB_ERR_INFRA_TOXIPROXY_START',
    `Toxiproxy container from image "${image}" did not start: ${detail}\nLikely fix: ${fix}; ` +
      'RECLAB_TOXIPROXY_IMAGE picks another image.',
    { cause },
  );
}
