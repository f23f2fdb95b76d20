/**
 * Points Testcontainers at the right container engine before it is first used.
 *
 * Why (docs: /work/shared/design/SETUP-NOTES.md, "Testcontainers on podman"): on the lab's machines no
 * Docker engine runs and no container registry is reachable. Rootful podman serves the Docker API at
 * /run/podman/podman.sock (started by scripts/setup/20-podman.sh), but Testcontainers only looks at
 * /var/run/docker.sock unless told otherwise, its Ryuk reaper image cannot be pulled, and the host it
 * derives from the socket is not one a client can dial. In users' CI a Docker engine runs and nothing
 * here applies: DOCKER_HOST or the default Docker socket wins.
 *
 * Testcontainers reads these variables lazily (when the first container starts), so calling this at
 * the top of a runner, before any `start()`, is enough even if testcontainers is already imported.
 */
import { existsSync } from 'node:fs';

/** The Docker API socket podman serves on this lab's machines. */
export const PODMAN_SOCKET_PATH = '/run/podman/podman.sock';

/** What `configureContainerEngine` decided. */
export interface ContainerEngineConfig {
  /**
   * `podman`: the podman socket was found and configured here; `docker`: no podman socket, so
   * Testcontainers' own discovery (default Docker socket) applies; `external`: DOCKER_HOST was
   * already set by the caller and is left alone.
   */
  engine: 'podman' | 'docker' | 'external';
  /** Human-readable lines saying what was set or left alone, for run logs. */
  notes: string[];
}

/**
 * Configures `env` (normally `process.env`) for Testcontainers, mutating it in place.
 *
 * When DOCKER_HOST is unset and the podman socket exists, sets — each only where unset, so a caller's
 * explicit value always wins:
 * - `DOCKER_HOST=unix:///run/podman/podman.sock` (Testcontainers would otherwise try docker.sock);
 * - `TESTCONTAINERS_RYUK_DISABLED=true` (the Ryuk image cannot be pulled; callers stop containers
 *   themselves, e.g. `await using` on StartedRedis);
 * - `TESTCONTAINERS_HOST_OVERRIDE=localhost` (published ports are bound on the host's loopback).
 *
 * @param env the environment to read and update; `socketPath` is injectable for tests.
 * @returns the engine chosen and notes; never throws.
 */
export function configureContainerEngine(
  env: NodeJS.ProcessEnv,
  socketPath: string = PODMAN_SOCKET_PATH,
): ContainerEngineConfig {
  const notes: string[] = [];
  if (env.DOCKER_HOST) {
    notes.push(`DOCKER_HOST already set (${env.DOCKER_HOST}): left alone`);
    return { engine: 'external', notes };
  }
  if (!existsSync(socketPath)) {
    notes.push(`no podman socket at ${socketPath}: Testcontainers discovers the Docker engine itself`);
    return { engine: 'docker', notes };
  }
  const wanted: Record<string, string> = {
    DOCKER_HOST: `unix://${socketPath}`,
    TESTCONTAINERS_RYUK_DISABLED: 'true',
    TESTCONTAINERS_HOST_OVERRIDE: 'localhost',
  };
  for (const [name, value] of Object.entries(wanted)) {
    if (env[name] === undefined || env[name] === '') {
      env[name] = value;
      notes.push(`set ${name}=${value}`);
    } else {
      notes.push(`${name} already set (${env[name]}): left alone`);
    }
  }
  return { engine: 'podman', notes };
}
