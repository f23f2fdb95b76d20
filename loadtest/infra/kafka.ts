/**
 * A single-node Apache Kafka 4.x broker (KRaft, no ZooKeeper) for tests and load runs, started
 * through Testcontainers from the locally built image `localhost/reclab-kafka:4`
 * (scripts/setup/31-image-kafka.sh; recipe in images/kafka/), or an external cluster used as is.
 *
 * The advertised-listener problem, and how it is solved: a Kafka client first asks any broker for
 * the cluster's metadata and then dials the addresses the brokers *advertise*, so the broker must
 * know the host port clients reach it on before it starts. We pick a free loopback port ourselves,
 * publish container port 9092 on exactly that port and pass it to the image's start script, which
 * advertises `EXTERNAL://<host>:<port>`. The broker's own traffic (controller quorum on 9093,
 * inter-broker on 9094) uses listeners bound inside the container, so it never dials an address
 * that only exists on the host.
 *
 * Error code: every start failure is a {@link KafkaStartError} with
 * `code === 'RECLAB_ERR_INFRA_KAFKA_START'` and a message naming the likely fix.
 */
import { randomBytes } from 'node:crypto';
import { Admin, FindCoordinatorKeyTypes } from '@platformatic/kafka';
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers';
import { configureContainerEngine } from './container-engine.ts';
import { findFreePort } from './free-port.ts';

/** Image started when neither `opts.image` nor RECLAB_KAFKA_IMAGE says otherwise. */
export const DEFAULT_KAFKA_IMAGE = 'localhost/reclab-kafka:4';

/** Error code carried by {@link KafkaStartError}. */
export const KAFKA_START_ERROR_CODE = 'RECLAB_ERR_INFRA_KAFKA_START';

/** Port the image's EXTERNAL listener binds inside the container (see images/kafka/). */
const CONTAINER_PORT = 9092;

/** Log line KafkaRaftServer prints once both the controller and the broker are serving. */
const READY_LOG_LINE = /Kafka Server started/;

/** Attempts when the chosen host port is taken between choosing and publishing it. */
const MAX_START_ATTEMPTS = 3;

/** Container log lines kept for error messages. */
const LOG_TAIL_LINES = 40;

/** Options of {@link startKafka}. */
export interface StartKafkaOptions {
  /** Image to run; default RECLAB_KAFKA_IMAGE, else `localhost/reclab-kafka:4`. */
  image?: string;
  /**
   * Budget in ms for one start, from container creation until a client has verified the broker
   * (log line + admin round trip). Default 60 000; a warm start takes about 3 s.
   */
  startupTimeoutMs?: number;
  /**
   * Extra broker properties, e.g. `{ 'log.retention.ms': 60000 }`. Passed as KAFKA_CFG_* variables,
   * so names must be dotted lower case (Kafka's own property names all are).
   */
  config?: Record<string, string | number | boolean>;
  /**
   * The address clients must dial, when it is not the broker's own published port: a proxy in front
   * of the broker (loadtest/infra/network-proxies.ts). Called once per start attempt with the host
   * port the container's 9092 is about to be published on (the proxy's upstream), before the broker
   * starts; the broker advertises what it returns, and the readiness check dials it. Default: the
   * published port itself, on the engine's host.
   */
  advertise?: (publishedPort: number) => Promise<{ host: string; port: number }>;
}

/** A Kafka cluster a test or load run can use; `await using` stops it. */
export interface StartedKafka {
  /** Bootstrap addresses for clients, `host:port` (for a started broker: `localhost:<port>`). */
  brokers: string[];
  /** The Testcontainers container, or null for an external cluster. */
  container: StartedTestContainer | null;
  /** Stops and removes the container; idempotent; a no-op for an external cluster. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Why a broker did not start; `message` says what to do about it. */
export class KafkaStartError extends Error {
  readonly code = KAFKA_START_ERROR_CODE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaStartError';
  }
}

/**
 * Wraps brokers that are already running (users' own cluster, CI services) in the
 * {@link StartedKafka} shape; `stop()` leaves them alone.
 *
 * @param brokers bootstrap addresses `host:port`; at least one.
 * @throws KafkaStartError (RECLAB_ERR_INFRA_KAFKA_START) when `brokers` is empty.
 */
export function externalKafka(brokers: string[]): StartedKafka {
  if (brokers.length === 0) {
    throw new KafkaStartError('externalKafka needs at least one broker address (host:port)');
  }
  const stop = async (): Promise<void> => {};
  return { brokers: [...brokers], container: null, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Starts a single-node KRaft broker in a container and returns once a Kafka client has reached it
 * through its advertised address. Topics are auto-created with 1 partition and replication 1;
 * consumer groups rebalance without the 3 s initial delay.
 *
 * Typical cost: about 3 s from call to return with a cached image (JVM start dominates).
 *
 * @throws KafkaStartError (RECLAB_ERR_INFRA_KAFKA_START) when the engine is unreachable, the image
 *   is missing, the broker does not log readiness within the budget, or a client cannot reach it.
 *   A host port taken between choosing and publishing it is retried (3 attempts in all).
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<StartedKafka> {
  configureContainerEngine(process.env);
  const image = opts.image ?? process.env.RECLAB_KAFKA_IMAGE ?? DEFAULT_KAFKA_IMAGE;
  const startupTimeoutMs = opts.startupTimeoutMs ?? 60_000;

  let host: string;
  try {
    // The host Testcontainers maps ports on ('localhost' with TESTCONTAINERS_HOST_OVERRIDE):
    // clients dial it, so the broker must advertise it.
    host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  } catch (err) {
    throw new KafkaStartError(
      `no container engine answers (${errorText(err)}). Start it with \`bash scripts/setup/20-podman.sh\`, ` +
        'or set DOCKER_HOST to a running Docker engine.',
      { cause: err },
    );
  }

  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    try {
      const advertised = opts.advertise ? await opts.advertise(port) : { host, port };
      return await startOnce(image, port, advertised, startupTimeoutMs, opts.config ?? {});
    } catch (err) {
      lastError = err;
      // Only a lost race for the port is worth another try; anything else would fail again.
      if (!isPortConflict(err)) break;
    }
  }
  if (lastError instanceof KafkaStartError) throw lastError;
  throw new KafkaStartError(explain(lastError, image), { cause: lastError });
}

/**
 * One start with 9092 published on host port `port`, advertising `advertised`; cleans up its
 * container on any failure.
 */
async function startOnce(
  image: string,
  port: number,
  advertised: { host: string; port: number },
  startupTimeoutMs: number,
  config: Record<string, string | number | boolean>,
): Promise<StartedKafka> {
  const deadline = Date.now() + startupTimeoutMs;
  const name = `reclab-kafka-${port}-${randomBytes(3).toString('hex')}`;
  const logTail: string[] = [];
  const env: Record<string, string> = {
    KAFKA_ADVERTISED_HOST: advertised.host,
    KAFKA_ADVERTISED_PORT: String(advertised.port),
  };
  for (const [key, value] of Object.entries(config)) {
    env[`KAFKA_CFG_${key.toUpperCase().replaceAll('.', '_')}`] = String(value);
  }

  let container: StartedTestContainer;
  try {
    container = await new GenericContainer(image)
      .withName(name)
      .withEnvironment(env)
      // Fixed host port: the broker advertises it, so it must be known before the JVM starts.
      .withExposedPorts({ container: CONTAINER_PORT, host: port })
      .withWaitStrategy(Wait.forLogMessage(READY_LOG_LINE))
      .withStartupTimeout(startupTimeoutMs)
      .withLogConsumer((stream) => {
        stream.on('data', (chunk: Buffer | string) => {
          for (const line of String(chunk).split('\n')) {
            if (line.trim() === '') continue;
            logTail.push(line);
            if (logTail.length > LOG_TAIL_LINES) logTail.shift();
          }
        });
      })
      .start();
  } catch (err) {
    // A failed `start()` (e.g. port in use) leaves the created container behind, and Ryuk,
    // which would reap it, is disabled on podman.
    await removeByName(name);
    if (isPortConflict(err)) throw err;
    throw new KafkaStartError(explain(err, image, logTail), { cause: err });
  }

  const brokers = [`${advertised.host}:${advertised.port}`];
  try {
    await verifyBroker(brokers, advertised.host, advertised.port, Math.max(1_000, deadline - Date.now()));
  } catch (err) {
    await container.stop().catch(() => {});
    throw new KafkaStartError(
      `Kafka logged readiness but a client could not use it at ${brokers[0]}: ${errorText(err)}. ` +
        'Check that nothing else answers on that port and that the broker advertises it ' +
        `(container log tail:\n${logTail.join('\n')})`,
      { cause: err },
    );
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    // Idempotent: `await using` plus an explicit stop() must not stop twice.
    stopping ??= container.stop().then(() => {});
    return stopping;
  };
  return { brokers, container, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Proves the broker serves clients at its advertised address: describeCluster must report
 * exactly `host:port` (a wrong advertised listener shows here, not later as a hung consumer), a
 * metadata round trip must succeed, and the group coordinator must answer.
 */
async function verifyBroker(brokers: string[], host: string, port: number, timeoutMs: number): Promise<void> {
  const admin = new Admin({
    clientId: 'reclab-kafka-ready-check',
    bootstrapBrokers: brokers,
    connectTimeout: Math.min(timeoutMs, 5_000),
    requestTimeout: Math.min(timeoutMs, 10_000),
    retries: 20,
    retryDelay: 250,
  });
  const work = (async () => {
    const cluster = await admin.metadata({ topics: [], forceUpdate: true });
    const advertised = [...cluster.brokers.values()].map((b) => `${b.host}:${b.port}`);
    if (advertised.length !== 1 || advertised[0] !== `${host}:${port}`) {
      throw new Error(`broker advertises ${advertised.join(', ') || 'nothing'}, expected ${host}:${port}`);
    }
    await admin.listTopics();
    // Asking for a group's coordinator makes the broker create __consumer_offsets now. Otherwise the
    // first consumer group of every test pays for it (seconds of "coordinator not available" retries).
    await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: ['reclab-ready-check'] });
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    await admin.close().catch(() => {});
    work.catch(() => {}); // the loser of the race must not surface as an unhandled rejection
  }
}

/** Force-removes a container by name, ignoring "no such container". */
async function removeByName(name: string): Promise<void> {
  try {
    const client = await getContainerRuntimeClient();
    await client.container.getById(name).remove({ force: true, v: true });
  } catch {
    // Nothing was created, or it is already gone.
  }
}

function isPortConflict(err: unknown): boolean {
  return /address already in use|port is already allocated|bind: /i.test(errorText(err));
}

/** Turns an engine or wait error into a message that names the fix. */
function explain(err: unknown, image: string, logTail: string[] = []): string {
  const text = errorText(err);
  const tail = logTail.length > 0 ? `\ncontainer log tail:\n${logTail.join('\n')}` : '';
  if (
    /no such image|image not known|pull access denied|manifest unknown|failed to resolve|initializing source/i.test(
      text,
    )
  ) {
    return (
      `image ${image} is missing and cannot be pulled (${text}). Build it with ` +
      '`bash scripts/setup/31-image-kafka.sh`, or set RECLAB_KAFKA_IMAGE to an image the engine has.'
    );
  }
  if (isPortConflict(err)) {
    return `every host port tried for Kafka was taken (${text}). Free some ports or retry.`;
  }
  if (/log message|timed out|timeout/i.test(text)) {
    return (
      `Kafka did not log readiness in time (${text}). The machine may be overloaded or short of ` +
      `memory (the broker uses up to 512 MB heap); pass a larger startupTimeoutMs or read the log.${tail}`
    );
  }
  return `Kafka container failed to start from ${image}: ${text}${tail}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
