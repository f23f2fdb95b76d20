/**
 * DiskSpool on a real file system, without Kafka: bound in bytes, first-in-first-out replay across
 * segments, deletion only after acks, leftovers found by a new instance, unreadable lines skipped.
 */
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { DiskSpool } from '../../core/adapters/kafka/disk-spool.ts';

const id = (i: number): string => `imp_${String(i).padStart(4, '0')}`;
const line = (i: number): string =>
  JSON.stringify({ impression_id: id(i), user_id: `u_${i % 7}`, pad: 'x'.repeat(80) });
const LINE_BYTES = Buffer.byteLength(line(0)) + 1;

describe('DiskSpool', () => {
  const dirs: string[] = [];
  const newDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'reclab-spool-disk-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('replays oldest first across segments and deletes a segment only after all its acks', async () => {
    const dir = await newDir();
    const spool = new DiskSpool(
      { dir, maxBytes: 1 << 20, segmentMaxBytes: 10 * LINE_BYTES, fsyncIntervalMs: 1000 },
      systemClock,
    );
    for (let i = 0; i < 35; i += 5)
      expect(await spool.append([0, 1, 2, 3, 4].map((k) => line(i + k)))).toBe(5);
    expect(spool.records).toBe(35);
    expect(spool.bytes).toBe(35 * LINE_BYTES);
    expect((await readdir(dir)).length).toBe(4); // 10 + 10 + 10 + 5 (open)

    const seen: string[] = [];
    for (;;) {
      const batch = await spool.peek(4);
      if (batch.length === 0) break;
      // Nothing is deleted before its ack: a repeated peek returns the same records.
      expect(await spool.peek(4)).toEqual(batch);
      seen.push(...batch.map((m) => (JSON.parse(m.value) as { impression_id: string }).impression_id));
      expect(batch[0]!.key).toMatch(/^u_\d$/);
      await spool.ack(batch.length);
    }
    expect(seen).toEqual(Array.from({ length: 35 }, (_, i) => id(i)));
    expect(spool).toMatchObject({ records: 0, bytes: 0, isEmpty: true, appended: 35, corrupt: 0 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes only what fits under maxBytes', async () => {
    const dir = await newDir();
    const spool = new DiskSpool(
      { dir, maxBytes: 10 * LINE_BYTES, segmentMaxBytes: 1 << 20, fsyncIntervalMs: 1000 },
      systemClock,
    );
    expect(await spool.append(Array.from({ length: 8 }, (_, i) => line(i)))).toBe(8);
    expect(await spool.append(Array.from({ length: 8 }, (_, i) => line(8 + i)))).toBe(2);
    expect(await spool.append([line(99)])).toBe(0);
    expect(spool.bytes).toBe(10 * LINE_BYTES);
    // Bytes are freed when a whole segment is deleted, not per acknowledged record.
    await spool.ack((await spool.peek(3)).length);
    expect(await spool.append([line(100)])).toBe(0);
    await spool.ack((await spool.peek(100)).length);
    expect(spool.bytes).toBe(0);
    expect(await spool.append(Array.from({ length: 12 }, (_, i) => line(200 + i)))).toBe(10);
    await spool.close();
  });

  it('finds leftovers of an earlier process and skips unreadable lines and a torn tail', async () => {
    const dir = await newDir();
    const first = new DiskSpool(
      { dir, maxBytes: 1 << 20, segmentMaxBytes: 1 << 20, fsyncIntervalMs: 1 },
      systemClock,
    );
    await first.append([line(0), line(1), line(2)]);
    await first.close();
    await first.close(); // idempotent
    const [name] = await readdir(dir);
    await appendFile(
      join(dir, name!),
      'not json\n{"impression_id":"imp_3","user_id":"u_3"}\n{"impression_id":"imp_4","us',
    );

    const second = new DiskSpool(
      { dir, maxBytes: 1 << 20, segmentMaxBytes: 1 << 20, fsyncIntervalMs: 1 },
      systemClock,
    );
    expect(second.records).toBe(5); // complete lines, before parsing
    await second.append([line(5)]); // a new segment after the leftover one
    const ids: string[] = [];
    for (let batch = await second.peek(100); batch.length > 0; batch = await second.peek(100)) {
      ids.push(...batch.map((m) => (JSON.parse(m.value) as { impression_id: string }).impression_id));
      await second.ack(batch.length);
    }
    expect(ids).toEqual([id(0), id(1), id(2), 'imp_3', id(5)]);
    expect(second).toMatchObject({ records: 0, bytes: 0, corrupt: 2 });
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(join(dir, name!)).catch(() => 'gone')).toBe('gone');
  });
});
