import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';

describe('systemClock.setTimer', () => {
  it('fires after the delay and can be cancelled', async () => {
    const t0 = systemClock.now();
    await new Promise<void>((resolve) => systemClock.setTimer(20, resolve));
    expect(systemClock.now() - t0).toBeGreaterThanOrEqual(19);
    let fired = false;
    const cancel = systemClock.setTimer(5, () => {
      fired = true;
    });
    cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(false);
  });

  it('after an event-loop stall, delivers a reply already in the socket before the deadline fires', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client: Socket = connect(port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = await accepted;
    try {
      const order: string[] = [];
      const replied = once(client, 'data').then(() => order.push('reply'));
      const deadline = new Promise<void>((resolve) =>
        systemClock.setTimer(5, () => {
          order.push('deadline');
          resolve();
        }),
      );
      // The peer's write reaches the kernel at once: the reply sits in the client's socket while the
      // loop stalls well past the deadline.
      peer.write('pong');
      const until = performance.now() + 60;
      while (performance.now() < until) {
        /* busy */
      }
      await Promise.all([replied, deadline]);
      expect(order).toEqual(['reply', 'deadline']);
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });
});
