/**
 * Whose environment variable is whose. The core and the ranker tier reject unknown `RECLAB_*`
 * names (a typo must not fall back to a default), so the lab never hands them its own environment
 * whole: each gets the operating system's variables (PATH, HOME, TMPDIR, NODE_OPTIONS…: no
 * `RECLAB_` prefix) and exactly its own `RECLAB_*` variables, an allow-list taken from its config
 * schema (core/config/config.ts, core/ranker-tier/config.ts). The lab's and the set-up's variables
 * (LAB_VARIABLES) stay with the lab. docs/configuration.md lists all three groups; a test keeps it
 * in step with these lists and with the names scripts/ reads.
 */
import { CORE_VARIABLES } from '../core/config/config.ts';
import { seededRandom } from '../core/random/seeded-random.ts';
import { RANKER_TIER_VARIABLES } from '../core/ranker-tier/config.ts';

/** The lab's and the set-up's variables (docs/configuration.md, "Variables of the lab and the set-up"). */
export const LAB_VARIABLES: readonly string[] = [
  // reclab run and the tests
  'REDIS_URL',
  'KAFKA_BROKERS',
  'RECLAB_REDIS_IMAGE',
  'RECLAB_KAFKA_IMAGE',
  'RECLAB_TOXIPROXY_IMAGE',
  'RECLAB_CPU_PROFILE_DIR',
  'RECLAB_LAB_GC',
  'CI',
  'DOCKER_HOST',
  'TESTCONTAINERS_RYUK_DISABLED',
  'TESTCONTAINERS_HOST_OVERRIDE',
  'KEEP_TEST_TMP',
  // scripts/setup.sh, scripts/setup/*.sh, scripts/build-core-image.sh, scripts/build-loadgen-image.sh
  'RECLAB_ROOT',
  'RECLAB_FORCE_PODMAN',
  'RECLAB_REBUILD',
  'RECLAB_KEEP_ROOTFS',
  'RECLAB_KAFKA_REBUILD',
  'NODE_EXTRA_CA_CERTS',
];

const PREFIX = 'RECLAB_';

/**
 * The environment of a service process: `env`'s variables without the `RECLAB_` prefix, plus those
 * of `own` that `env` sets. `overrides` (the launcher's own settings) win and must be in `own`.
 * @throws Error naming an override that is not one of the service's variables (a launcher bug)
 */
export function serviceEnv(
  env: Readonly<Record<string, string | undefined>>,
  own: readonly string[],
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const mine = new Set(own);
  const foreign = Object.keys(overrides).filter((k) => !mine.has(k));
  if (foreign.length > 0) throw new Error(`not variables of this service: ${foreign.join(', ')}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (!k.startsWith(PREFIX) || mine.has(k))) out[k] = v;
  }
  return { ...out, ...overrides };
}

/** The core's environment (CORE_VARIABLES). */
export const coreEnv = (
  env: Readonly<Record<string, string | undefined>>,
  overrides?: Readonly<Record<string, string>>,
) => serviceEnv(env, CORE_VARIABLES, overrides);

/** The ranker tier's environment (RANKER_TIER_VARIABLES). */
export const rankerTierEnv = (
  env: Readonly<Record<string, string | undefined>>,
  overrides?: Readonly<Record<string, string>>,
) => serviceEnv(env, RANKER_TIER_VARIABLES, overrides);

/**
 * `RECLAB_*` names in `env` that belong to nobody: not the core's, the ranker tier's or the lab's.
 * `reclab run` and `reclab serve` refuse to start with any (exit 2), as the core would.
 */
export function unknownReclabVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set([...CORE_VARIABLES, ...RANKER_TIER_VARIABLES, ...LAB_VARIABLES]);
  return Object.keys(env)
    .filter((k) => k.startsWith(PREFIX) && !known.has(k))
    .sort();
}

/**
 * The admin token the lab gives a core it starts (RECLAB_ADMIN_TOKEN): 32 hex digits from the
 * seed's `loadtest.admin-token` stream, so a run's token is reproducible from its seed. The core
 * binds 127.0.0.1 in the lab; the token makes the lab exercise the path a deployment uses.
 */
export function labAdminToken(seed: number): string {
  const rnd = seededRandom(seed).stream('loadtest.admin-token');
  return Array.from({ length: 32 }, () => rnd.int(16).toString(16)).join('');
}
