import { getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';

export type ContainerFault = 'stop' | 'start' | 'pause' | 'unpause';

/** How long each action may take before the container's state decides (stop: its 10 s grace + 20 s). */
export const CONTAINER_ACTION_TIMEOUT_MS: Record<ContainerFault, number> = {
  stop: 30_000,
  start: 30_000,
  pause: 10_000,
  unpause: 10_000,
};

type EngineContainer = ReturnType<
  Awaited<ReturnType<typeof getContainerRuntimeClient>>['container']['getById']
>;
type ContainerState = { Running: boolean; Paused: boolean };

/** The engine call of each action (`stop`: SIGTERM, SIGKILL after 10 s). */
const ACTIONS: Record<ContainerFault, (c: EngineContainer) => Promise<unknown>> = {
  stop: (c) => c.stop({ t: 10 }),
  start: (c) => c.start(),
  pause: (c) => c.pause(),
  unpause: (c) => c.unpause(),
};

/** Whether the container's inspected state is the one each action asks for. */
const IN_FORCE: Record<ContainerFault, (s: ContainerState) => boolean> = {
  stop: (s) => !s.Running,
  start: (s) => s.Running && !s.Paused,
  pause: (s) => s.Paused,
  unpause: (s) => s.Running && !s.Paused,
};

/**
 * Applies a fault to a running container through the engine API (Docker or podman), the same as
 * `docker stop|start|pause|unpause`. Unlike Testcontainers' own `stop()` (which removes the
 * container) this keeps the container, its published port and its storage, so a later `start`
 * brings the same service back at the same address: what an outage followed by recovery looks like
 * to the core. `stop` sends SIGTERM and kills after 10 s (a clean broker shutdown takes a few seconds).
 *
 * Each call is bounded (`CONTAINER_ACTION_TIMEOUT_MS`): once in a CI run on podman 4.3 the HTTP
 * answer to a stop never came although the container had exited, and the whole scenario waited on
 * it. Past the bound the container's state decides: the action resolves if the container is in the
 * state it asked for, and throws otherwise.
 * @throws Error when the engine refuses the action, or it is not in force after its bound
 */
export async function applyContainerFault(
  container: StartedTestContainer,
  action: ContainerFault,
): Promise<void> {
  const client = await getContainerRuntimeClient();
  const c = client.container.getById(container.getId());
  const call = ACTIONS[action](c);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CONTAINER_ACTION_TIMEOUT_MS[action]);
  });
  try {
    if ((await Promise.race([call.then(() => 'done' as const), timedOut])) === 'done') return;
  } finally {
    clearTimeout(timer);
  }
  call.catch(() => {}); // it may still settle; its outcome no longer matters
  const state = (await c.inspect()).State;
  const inForce = IN_FORCE[action](state);
  if (!inForce)
    throw new Error(
      `container ${action}: no answer from the engine within ${CONTAINER_ACTION_TIMEOUT_MS[action]} ms and the container is ${state.Status}`,
    );
}
