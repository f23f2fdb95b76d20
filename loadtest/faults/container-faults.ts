import { getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';

export type ContainerFault = 'stop' | 'start' | 'pause' | 'unpause';

/**
 * Applies a fault to a running container through the engine API (Docker or podman), the same as
 * `docker stop|start|pause|unpause`. Unlike Testcontainers' own `stop()` (which removes the
 * container) this keeps the container, its published port and its storage, so a later `start`
 * brings the same service back at the same address: what an outage followed by recovery looks like
 * to the core. `stop` sends SIGTERM and kills after 10 s (a clean broker shutdown takes a few seconds).
 */
export async function applyContainerFault(
  container: StartedTestContainer,
  action: ContainerFault,
): Promise<void> {
  const client = await getContainerRuntimeClient();
  const c = client.container.getById(container.getId());
  if (action === 'stop') await c.stop({ t: 10 });
  else if (action === 'start') await c.start();
  else if (action === 'pause') await c.pause();
  else await c.unpause();
}
