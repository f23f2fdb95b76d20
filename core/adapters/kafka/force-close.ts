/**
 * `close(true)` of a @platformatic/kafka client: closes its streams too and cancels its pending
 * retries. (The client's first `close` overload takes a callback; this picks the promise one.)
 */
export function forceClose(client: { close(force?: boolean): Promise<void> }): Promise<void> {
  return client.close(true);
}
