/**
 * Network faults between the core and Redis or Kafka, as data, applied through Toxiproxy's HTTP API
 * (loadtest/infra/toxiproxy.ts; proxies named after their target by loadtest/infra/network-proxies.ts).
 * The scenario's scheduler decides when: `apply(fault)` at `fromS`, `clear(fault)` at `toS`.
 *
 * | kind         | fields                   | Toxiproxy                                  | a client sees |
 * |--------------|--------------------------|--------------------------------------------|---------------|
 * | `latency`    | `latencyMs`, `jitterMs?` | `latency` toxic on the server's replies     | each reply `latencyMs ± jitterMs` late (once per round trip) |
 * | `hang`       | —                        | `timeout` toxic, timeout 0, both directions | connections open, nothing gets through: calls hang until the client's own timeout |
 * | `timeout`    | `timeoutMs`              | `timeout` toxic, both directions            | as `hang`, then each connection is closed after `timeoutMs` (0: never, the same as `hang`) |
 * | `reset_peer` | `timeoutMs?` (0)         | `reset_peer` toxic on the client's requests | the first request on a connection (after `timeoutMs`) ends it: a TCP RST on connections opened while it is active, a close on those already open |
 * | `bandwidth`  | `rateKBps`               | `bandwidth` toxic, both directions          | at most `rateKBps` KB/s each way |
 * | `down`       | —                        | proxy disabled                              | open connections closed, new ones refused |
 *
 * Durations may be fractional (scenarios/define.ts allows it): Toxiproxy takes whole milliseconds, so
 * they are rounded to the nearest one, and `rateKBps` to the nearest whole KB/s but at least 1 (0
 * would mean "no limit" to Toxiproxy).
 *
 * Clearing `hang` or `timeout` closes the connections they held (Toxiproxy drops the bytes a
 * `timeout` toxic swallowed, so a stalled connection cannot be resumed): clients reconnect, and no
 * reply can be matched to the wrong request. Clearing `latency` or `bandwidth` lets queued bytes through.
 * Clearing `down` re-binds the same port.
 */
import type { Toxiproxy } from 'toxiproxy-node-client';

/** The dependencies a network fault can sit in front of (each a proxy of that name). */
export const NETWORK_TARGETS = ['redis', 'kafka'] as const;
export type NetworkTarget = (typeof NETWORK_TARGETS)[number];

/** Every kind this injector applies. */
export const NETWORK_FAULT_KINDS = ['latency', 'hang', 'timeout', 'reset_peer', 'bandwidth', 'down'] as const;
export type NetworkFaultKind = (typeof NETWORK_FAULT_KINDS)[number];

/**
 * Upper bound of every duration field, in milliseconds (10 min): longer than any phase, short
 * enough that a typo in seconds-vs-milliseconds is caught.
 */
export const MAX_FAULT_MS = 600_000;
/** Upper bound of `rateKBps` (1 GB/s: more is no limit at all). */
export const MAX_RATE_KBPS = 1_000_000;

/** The scheduler's time window; the injector ignores it. */
interface Window {
  readonly fromS?: number;
  readonly toS?: number;
}

/** A network fault on one target; field names carry their units. */
export type NetworkFault = Window &
  (
    | {
        readonly target: NetworkTarget;
        readonly kind: 'latency';
        readonly latencyMs: number;
        readonly jitterMs?: number;
      }
    | { readonly target: NetworkTarget; readonly kind: 'hang' }
    | { readonly target: NetworkTarget; readonly kind: 'timeout'; readonly timeoutMs: number }
    | { readonly target: NetworkTarget; readonly kind: 'reset_peer'; readonly timeoutMs?: number }
    | { readonly target: NetworkTarget; readonly kind: 'bandwidth'; readonly rateKBps: number }
    | { readonly target: NetworkTarget; readonly kind: 'down' }
  );

/**
 * True when this injector can apply `fault` (a target with a proxy and one of its kinds). For a
 * scenario's faults use loadtest/faults/live-faults.ts `networkFaultOf`: there `down` and `hang` on
 * redis/kafka are container faults (stop, pause), not network ones.
 */
export function isNetworkFault(fault: { target: string; kind: string }): fault is NetworkFault {
  return (
    (NETWORK_TARGETS as readonly string[]).includes(fault.target) &&
    (NETWORK_FAULT_KINDS as readonly string[]).includes(fault.kind)
  );
}

export type NetworkFaultErrorCode =
  | 'RECLAB_ERR_NETWORK_FAULT_INVALID'
  | 'RECLAB_ERR_NETWORK_FAULT_TARGET'
  | 'RECLAB_ERR_NETWORK_FAULT_API';

/**
 * A fault could not be applied or cleared. `code`: `RECLAB_ERR_NETWORK_FAULT_INVALID` (unknown
 * target or kind, a field missing, not a finite number or out of range), `RECLAB_ERR_NETWORK_FAULT_TARGET`
 * (no proxy for the target: it was not started behind Toxiproxy), `RECLAB_ERR_NETWORK_FAULT_API`
 * (Toxiproxy refused or did not answer; `cause` has its error).
 */
export class NetworkFaultError extends Error {
  readonly code: NetworkFaultErrorCode;

  constructor(code: NetworkFaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkFaultError';
    this.code = code;
  }
}

type Stream = 'upstream' | 'downstream';
interface ToxicSpec {
  type: 'latency' | 'timeout' | 'reset_peer' | 'bandwidth';
  streams: Stream[];
  attributes: Record<string, number>;
}

/**
 * Applies and clears network faults through one Toxiproxy server. Stateless: what is active is
 * what the server has, so a new injector on the same server can clear an older one's faults.
 */
export class ToxiproxyFaultInjector {
  readonly #client: Toxiproxy;

  /** @param toxiproxy the server (a `StartedToxiproxy`, or anything with its client) */
  constructor(toxiproxy: { client: Toxiproxy }) {
    this.#client = toxiproxy.client;
  }

  /**
   * Starts `fault` on its target's proxy; applying a kind that is already active replaces its
   * parameters (connections stay open). Different kinds stack (latency and bandwidth together).
   * @throws NetworkFaultError (codes above)
   */
  async apply(fault: NetworkFault): Promise<void> {
    validate(fault);
    const proxy = await this.#proxy(fault.target);
    if (fault.kind === 'down') {
      await this.#call(fault, () =>
        proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream }),
      );
      return;
    }
    const spec = toxicOf(fault);
    const existing = new Set(await this.#toxicNames(fault));
    for (const stream of spec.streams) {
      const name = toxicName(fault.kind, stream);
      const body = { name, type: spec.type, stream, toxicity: 1, attributes: spec.attributes };
      // An active toxic is updated in place (POST …/toxics/<name>); removing and re-adding a
      // `timeout` toxic would close the connections it holds.
      const path = existing.has(name) ? `${proxy.getPath()}/toxics/${name}` : `${proxy.getPath()}/toxics`;
      await this.#call(fault, () => this.#client.getApi().post(path, body));
    }
  }

  /**
   * Ends `fault`'s kind on its target (its parameters do not matter); a no-op when it is not
   * active. See the module comment for what clearing does to open connections.
   * @throws NetworkFaultError (codes above)
   */
  async clear(fault: Pick<NetworkFault, 'target' | 'kind'>): Promise<void> {
    if (!isNetworkFault(fault))
      throw invalid(
        fault,
        `not a network fault (targets ${NETWORK_TARGETS.join(', ')}; kinds ${NETWORK_FAULT_KINDS.join(', ')})`,
      );
    const proxy = await this.#proxy(fault.target);
    if (fault.kind === 'down') {
      if (!proxy.enabled)
        await this.#call(fault, () =>
          proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream }),
        );
      return;
    }
    const mine = new Set<string>(['upstream', 'downstream'].map((s) => toxicName(fault.kind, s as Stream)));
    for (const name of await this.#toxicNames(fault)) {
      if (mine.has(name))
        await this.#call(fault, () => this.#client.getApi().delete(`${proxy.getPath()}/toxics/${name}`));
    }
  }

  /** Ends every fault on every proxy (Toxiproxy's POST /reset: proxies enabled, toxics removed). */
  async clearAll(): Promise<void> {
    try {
      await this.#client.reset();
    } catch (err) {
      throw new NetworkFaultError('RECLAB_ERR_NETWORK_FAULT_API', `Toxiproxy reset failed: ${text(err)}`, {
        cause: err,
      });
    }
  }

  async #proxy(target: NetworkTarget) {
    const all = await this.#call({ target, kind: 'read' }, () => this.#client.getAll());
    const proxy = all[target];
    if (!proxy) {
      throw new NetworkFaultError(
        'RECLAB_ERR_NETWORK_FAULT_TARGET',
        `no Toxiproxy proxy for ${target} (proxies: ${Object.keys(all).join(', ') || 'none'}): ` +
          `start ${target} behind Toxiproxy (loadtest/infra/network-proxies.ts) to inject network faults`,
      );
    }
    return proxy;
  }

  async #toxicNames(fault: { target: NetworkTarget; kind: string }): Promise<string[]> {
    const res = await this.#call(fault, () =>
      this.#client.getApi().get<{ name: string }[]>(`${this.#client.host}/proxies/${fault.target}/toxics`),
    );
    return res.data.map((t) => t.name);
  }

  async #call<T>(fault: { target: string; kind: string }, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new NetworkFaultError(
        'RECLAB_ERR_NETWORK_FAULT_API',
        `Toxiproxy at ${this.#client.host} failed on ${fault.kind} ${fault.target}: ${text(err)}`,
        { cause: err },
      );
    }
  }
}

/** Toxic names: one per kind and direction, so clearing a kind never touches another's toxics. */
function toxicName(kind: string, stream: Stream): string {
  return `reclab_${kind}_${stream}`;
}

function toxicOf(fault: Exclude<NetworkFault, { kind: 'down' }>): ToxicSpec {
  const both: Stream[] = ['upstream', 'downstream'];
  switch (fault.kind) {
    case 'latency':
      // On the replies only: latencyMs is then added once per round trip, not twice.
      return {
        type: 'latency',
        streams: ['downstream'],
        attributes: { latency: Math.round(fault.latencyMs), jitter: Math.round(fault.jitterMs ?? 0) },
      };
    case 'hang':
      return { type: 'timeout', streams: both, attributes: { timeout: 0 } };
    case 'timeout':
      return { type: 'timeout', streams: both, attributes: { timeout: Math.round(fault.timeoutMs) } };
    case 'reset_peer':
      // On requests: the connection is reset when the client next sends, as a peer that lost it would.
      return {
        type: 'reset_peer',
        streams: ['upstream'],
        attributes: { timeout: Math.round(fault.timeoutMs ?? 0) },
      };
    case 'bandwidth':
      return {
        type: 'bandwidth',
        streams: both,
        attributes: { rate: Math.max(1, Math.round(fault.rateKBps)) },
      };
  }
}

/** @throws NetworkFaultError RECLAB_ERR_NETWORK_FAULT_INVALID naming the field and its range */
function validate(fault: NetworkFault): void {
  if (!isNetworkFault(fault)) {
    throw invalid(
      fault,
      `not a network fault (targets ${NETWORK_TARGETS.join(', ')}; kinds ${NETWORK_FAULT_KINDS.join(', ')})`,
    );
  }
  const f = fault as unknown as Record<string, unknown>;
  const field = (name: string, required: boolean, min: number, max: number) => {
    const v = f[name];
    if (v === undefined && !required) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw invalid(fault, `${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
    }
  };
  if (fault.kind === 'latency') {
    field('latencyMs', true, 0, MAX_FAULT_MS);
    field('jitterMs', false, 0, MAX_FAULT_MS);
  } else if (fault.kind === 'timeout') field('timeoutMs', true, 0, MAX_FAULT_MS);
  else if (fault.kind === 'reset_peer') field('timeoutMs', false, 0, MAX_FAULT_MS);
  // rate 0 means "no limit" to Toxiproxy: never what a bandwidth fault wants.
  else if (fault.kind === 'bandwidth') {
    field('rateKBps', true, 0, MAX_RATE_KBPS);
    if (fault.rateKBps === 0) throw invalid(fault, 'rateKBps must be above 0 (0 is no limit to Toxiproxy)');
  }
}

function invalid(fault: { target?: unknown; kind?: unknown }, why: string): NetworkFaultError {
  return new NetworkFaultError(
    'RECLAB_ERR_NETWORK_FAULT_INVALID',
    `network fault ${JSON.stringify(fault.kind)} on ${JSON.stringify(fault.target)}: ${why}`,
  );
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
