/**
 * Provisions the Redis a test or load run talks to: a throwaway container started with Testcontainers,
 * or an external Redis given by URL (a shared lab box, a CI service container).
 *
 * The default image is the locally built `localhost/reclab-redis:7` (scripts/setup/30-image-redis.sh:
 * Debian's redis-server, listening on 0.0.0.0:6379, protected-mode off, no persistence), because no
 * registry is reachable on the lab's machines (SETUP-NOTES). `RECLAB_REDIS_IMAGE` overrides it, e.g.
 * `redis:7` in users' CI where Docker pulls public images.
 */
import { Redis } from 'ioredis';
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers';
import { configureContainerEngine } from './container-engine.ts';

/** The image built by scripts/setup/30-image-redis.sh. */
export const DEFAULT_REDIS_IMAGE = 'localhost/reclab-redis:7';
/** Port Redis listens on inside the container. */
export const REDIS_CONTAINER_PORT = 6379;
/** Default budget for one start attempt: container start + log line + PING, in milliseconds. */
export const DEFAULT_REDIS_STARTUP_TIMEOUT_MS = 30_000;
/** Retries after the first attempt when podman reports `address already in use` (SETUP-NOTES). */
const ADDRESS_IN_USE_RETRIES = 3;

/** Stable codes of the errors this module throws; callers match on `code`, never on the message. */
export type RedisInfraErrorCode = 'RECLAB_ERR_INFRA_REDIS_START' | 'RECLAB_ERR_INFRA_REDIS_URL';

/**
 * Redis could not be provided. `code` is `RECLAB_ERR_INFRA_REDIS_START` (container did not start or
 * never answered PING) or `RECLAB_ERR_INFRA_REDIS_URL` (an external URL that is not redis://…);
 * the message names the image or URL and the likely fix; `cause` holds the underlying error.
 */
export class RedisInfraError extends Error {
  readonly code: RedisInfraErrorCode;

  constructor(code: RedisInfraErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisInfraError';
    this.code = code;
  }
}

/** A Redis a run can use, however it was provided. */
export interface StartedRedis extends AsyncDisposable {
  /** `redis://<host>:<port>`; read after a `container.restart()` too (it follows the mapped port). */
  readonly url: string;
  /** Host name clients dial (`localhost` for a container on podman). */
  readonly host: string;
  /** Host port clients dial (the port mapped to the container's 6379). */
  readonly port: number;
  /**
   * The container, for fault injection: `stop()`, `restart()`; pause with
   * `(await getContainerRuntimeClient()).container.getById(container.getId()).pause()`.
   * `undefined` for an external Redis.
   */
  readonly container: StartedTestContainer | undefined;
  /** Wall time from the start request to a successful PING, in milliseconds (0 for external). */
  readonly startMs: number;
  /** Start attempts it took (more than 1 after podman's `address already in use` race; 1 for external). */
  readonly attempts: number;
  /** Stops and removes the container (no-op for external). Idempotent; safe after `container.stop()`. */
  stop(): Promise<void>;
}

/** Options of `startRedis`. */
export interface StartRedisOptions {
  /** Image to run; default `$RECLAB_REDIS_IMAGE`, else `localhost/reclab-redis:7`. */
  image?: string;
  /** Budget per start attempt, in milliseconds; default 30 000. */
  startupTimeoutMs?: number;
}

/**
 * Starts a fresh Redis container and resolves once it provably serves commands: the container's log
 * says `Ready to accept connections` and a PING through the mapped host port answers PONG.
 *
 * Configures the container engine first (`configureContainerEngine(process.env)`, which only fills
 * unset variables), so a runner that forgot to still reaches podman. Retries the whole start up to 3
 * times on podman's `address already in use` race; any leftover container of a failed attempt is
 * removed.
 *
 * @throws RedisInfraError with code `RECLAB_ERR_INFRA_REDIS_START` when no attempt succeeds (image
 *   missing, engine unreachable, Redis exiting or not answering within `startupTimeoutMs`).
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<StartedRedis> {
  configureContainerEngine(process.env);
  const image = opts.image ?? process.env.RECLAB_REDIS_IMAGE ?? DEFAULT_REDIS_IMAGE;
  const timeoutMs = opts.startupTimeoutMs ?? DEFAULT_REDIS_STARTUP_TIMEOUT_MS;
  const t0 = performance.now();
  let lastError: unknown;
  for (let attempt = 0; attempt <= ADDRESS_IN_USE_RETRIES; attempt++) {
    try {
      const container = await startOnce(image, timeoutMs);
      return containerRedis(container, performance.now() - t0, attempt + 1);
    } catch (err) {
      lastError = err;
      if (!isAddressInUse(err) || attempt === ADDRESS_IN_USE_RETRIES) break;
      // The race is between simultaneous starts: back off a little, longer each time.
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
  }
  throw startError(image, lastError);
}

/**
 * A Redis that already runs elsewhere, in the same shape as `startRedis`'s: `stop()` does nothing,
 * `container` is undefined. Nothing is contacted here; the first client command finds out.
 *
 * @param url `redis://[user:pass@]host[:port][/db]` or `rediss://…`; port defaults to 6379.
 * @throws RedisInfraError with code `RECLAB_ERR_INFRA_REDIS_URL` when `url` is not such a URL.
 */
export function externalRedis(url: string): StartedRedis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new RedisInfraError(
      'RECLAB_ERR_INFRA_REDIS_URL',
      `Not a URL: "${url}" (expected redis://host:port)`,
      {
        cause: err,
      },
    );
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw new RedisInfraError(
      'RECLAB_ERR_INFRA_REDIS_URL',
      `Not a Redis URL: "${url}" (expected redis://host:port)`,
    );
  }
  // URL keeps IPv6 literals bracketed; clients want the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? REDIS_CONTAINER_PORT : Number(parsed.port);
  const stop = async (): Promise<void> => {};
  return {
    url,
    host,
    port,
    container: undefined,
    startMs: 0,
    attempts: 1,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * GenericContainer that remembers the id of the container it created, so a start that fails before
 * Testcontainers takes ownership (e.g. the port bind in `start`) does not leave a created container.
 */
class TrackedContainer extends GenericContainer {
  createdId: string | undefined;

  protected override async containerCreated(containerId: string): Promise<void> {
    this.createdId = containerId;
  }
}

/** One start attempt: container + log line, then PING from the host. Cleans up on failure. */
async function startOnce(image: string, timeoutMs: number): Promise<StartedTestContainer> {
  const deadline = performance.now() + timeoutMs;
  const logTail: string[] = [];
  const builder = new TrackedContainer(image)
    .withExposedPorts(REDIS_CONTAINER_PORT)
    // The log line proves Redis finished loading; the PING below proves the published port reaches it.
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(timeoutMs)
    // Keep the last lines so an error can say why Redis died (missing library, bad config…).
    .withLogConsumer((stream) => {
      stream.on('data', (chunk: Buffer | string) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.trim() === '') continue;
          logTail.push(line.trim());
          if (logTail.length > 10) logTail.shift();
        }
      });
    });
  let container: StartedTestContainer | undefined;
  try {
    container = await builder.start();
    await pingUntilReady(container.getHost(), container.getMappedPort(REDIS_CONTAINER_PORT), deadline);
    return container;
  } catch (err) {
    if (container) {
      await container.stop().catch(() => {});
    } else if (builder.createdId) {
      await removeQuietly(builder.createdId);
    }
    if (logTail.length > 0 && err instanceof Error) {
      err.message += `\ncontainer log (last lines):\n  ${logTail.join('\n  ')}`;
    }
    throw err;
  }
}

/** PINGs host:port until PONG or `deadline` (performance.now() ms). @throws the last client error. */
async function pingUntilReady(host: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    // No retries or offline queue: each attempt must fail fast so the loop, not ioredis, decides.
    const client = new Redis({
      host,
      port,
      lazyConnect: true,
      connectTimeout: 1_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // failures surface through the awaited calls below
    try {
      await client.connect();
      const reply = await client.ping();
      if (reply === 'PONG') return;
      throw new Error(`PING answered ${JSON.stringify(reply)}`);
    } catch (err) {
      if (performance.now() + 100 > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      client.disconnect();
    }
  }
}

/** Wraps a started container in the StartedRedis shape. */
function containerRedis(container: StartedTestContainer, startMs: number, attempts: number): StartedRedis {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    // Memoized: `await using` plus an explicit stop() must not stop twice.
    stopping ??= container.stop().then(() => undefined);
    return stopping;
  };
  return {
    // Getters: Docker may map a new host port on restart(); Testcontainers updates it then.
    get url() {
      return `redis://${container.getHost()}:${container.getMappedPort(REDIS_CONTAINER_PORT)}`;
    },
    get host() {
      return container.getHost();
    },
    get port() {
      return container.getMappedPort(REDIS_CONTAINER_PORT);
    },
    container,
    startMs,
    attempts,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Force-removes a container by id, ignoring errors (it may already be gone). */
async function removeQuietly(containerId: string): Promise<void> {
  try {
    const client = await getContainerRuntimeClient();
    await client.container.getById(containerId).remove({ force: true });
  } catch {
    // Best effort: the caller is already reporting the real failure.
  }
}

function isAddressInUse(err: unknown): boolean {
  return err instanceof Error && /address already in use/i.test(err.message);
}

/** Builds the RECLAB_ERR_INFRA_REDIS_START error, with a fix matched to the failure when known. */
function startError(image: string, cause: unknown): RedisInfraError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  let fix = 'run scripts/setup.sh (starts the podman API socket and builds the image)';
  if (
    /no such image|image not known|pull access denied|manifest unknown|repository does not exist/i.test(
      detail,
    )
  ) {
    fix = `image "${image}" is missing: run scripts/setup.sh (or bash scripts/setup/30-image-redis.sh)`;
  } else if (/container runtime strategy|ENOENT|ECONNREFUSED.*sock|connect EACCES/i.test(detail)) {
    fix = 'no container engine answered: run scripts/setup.sh (scripts/setup/20-podman.sh starts podman)';
  }
  return new RedisInfraError(
    'RECLAB_ERR_INFRA_REDIS_START',
    `Redis container from image "${image}" did not start: ${detail}\nLikely fix: ${fix}; ` +
      'RECLAB_REDIS_IMAGE picks another image, or use an external Redis (externalRedis(url)).',
    { cause },
  );
}
