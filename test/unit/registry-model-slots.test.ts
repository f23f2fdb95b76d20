import { describe, expect, it } from 'vitest';
import type { ReclabError } from '../../core/errors.ts';
import { ModelSlots, type SwappableModelSet } from '../../core/registry/model-slots.ts';
import { fakeModelSet } from '../helpers/core-fixtures.ts';

interface FakeSet extends SwappableModelSet {
  released: number;
}

function fakeSet(version: string): FakeSet {
  const set: FakeSet = {
    ...fakeModelSet(version),
    items: { vectors: new Float32Array(2), dim: 2, count: 1 },
    editorial: [0],
    released: 0,
    release: async () => {
      set.released++;
    },
  };
  return set;
}

function slots(initial = fakeSet('a'), known = ['b', 'c', 'bad-warm']) {
  const loaded: FakeSet[] = [];
  const s = new ModelSlots<FakeSet>(initial, {
    load: async (v) => {
      if (v === 'broken') throw new Error('corrupt file');
      if (!known.includes(v)) {
        const { ReclabError: E } = await import('../../core/errors.ts');
        throw new E('RECLAB_ERR_MODEL_VERSION_UNKNOWN', v);
      }
      const set = fakeSet(v);
      loaded.push(set);
      return set;
    },
    warmUp: async (set) => {
      if (set.modelVersion === 'bad-warm') throw new Error('NaN in warm-up');
    },
  });
  return { s, loaded, initial };
}

const codeOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as ReclabError).code;
  }
  return 'no error';
};

describe('ModelSlots (seed 000 §7 blue/green)', () => {
  it('activates a new version, keeps the old one for rollback, and rolls back without loading', async () => {
    const { s, loaded } = slots();
    const swap = await s.activate('b');
    expect(swap).toMatchObject({ kind: 'activate', from: 'a', to: 'b' });
    expect(s.active.modelVersion).toBe('b');
    expect(s.standby?.modelVersion).toBe('a');
    const back = s.rollback();
    expect(back).toMatchObject({ kind: 'rollback', from: 'b', to: 'a', loadMs: 0, warmMs: 0 });
    expect(s.active.modelVersion).toBe('a');
    // Activating the standby version is a swap, not a load.
    await s.activate('b');
    expect(loaded).toHaveLength(1);
    expect(s.swapCount).toBe(3);
  });

  it('a lease keeps its set for the whole request, across a swap', async () => {
    const { s } = slots();
    const lease = s.acquire();
    await s.activate('b');
    expect(lease.models.modelVersion).toBe('a');
    expect(s.acquire().models.modelVersion).toBe('b');
    lease.release();
    lease.release(); // idempotent
    expect(s.status().standby).toEqual({ version: 'a', inFlight: 0 });
  });

  it('releases a retired set only after its last in-flight request', async () => {
    const { s, initial } = slots();
    const lease = s.acquire(); // on a
    await s.activate('b'); // a → standby
    await s.activate('c'); // a retired, b → standby
    expect(s.standby?.modelVersion).toBe('b');
    expect(initial.released).toBe(0);
    lease.release();
    await new Promise((r) => setImmediate(r));
    expect(initial.released).toBe(1);
  });

  it('reports unknown versions, load and warm-up failures by code and keeps serving the active set', async () => {
    const { s, loaded } = slots();
    expect(await codeOf(s.activate('nope'))).toBe('RECLAB_ERR_MODEL_VERSION_UNKNOWN');
    expect(await codeOf(s.activate('broken'))).toBe('RECLAB_ERR_MODEL_LOAD_FAILED');
    expect(await codeOf(s.activate('bad-warm'))).toBe('RECLAB_ERR_MODEL_LOAD_FAILED');
    expect(loaded[0].released).toBe(1); // the set that failed warm-up is not leaked
    expect(s.active.modelVersion).toBe('a');
    expect(await codeOf(() => s.rollback())).toBe('RECLAB_ERR_MODEL_NO_PREVIOUS');
  });

  it('refuses a second activation while one is loading', async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const s = new ModelSlots<FakeSet>(fakeSet('a'), {
      load: async (v) => {
        await gate;
        return fakeSet(v);
      },
      warmUp: async () => {},
    });
    const first = s.activate('b');
    expect(s.busy).toBe(true);
    expect(await codeOf(s.activate('c'))).toBe('RECLAB_ERR_MODEL_SWAP_IN_PROGRESS');
    expect(await codeOf(() => s.rollback())).toBe('RECLAB_ERR_MODEL_SWAP_IN_PROGRESS');
    open();
    await first;
    expect(s.active.modelVersion).toBe('b');
  });
});
