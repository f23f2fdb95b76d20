import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { type FileHandle, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ReclabError } from '../../errors.ts';
import type { Clock } from '../../ports/clock.ts';

/** Options of {@link DiskSpool}. */
export interface DiskSpoolOptions {
  /** Directory holding the segment files; created if missing. One process per directory. */
  dir: string;
  /** Most bytes on disk over all segments; an append that would pass it writes only what fits. */
  maxBytes: number;
  /** A segment is closed (fsynced) and a new one opened once it holds this many bytes. */
  segmentMaxBytes: number;
  /** Most time between an append and its fsync while the segment stays open (ms). */
  fsyncIntervalMs: number;
  /** What the records are, for error messages (`impression`, `event`); default `impression`. */
  label?: string;
}

/** One spooled message as it goes back to Kafka: `value` is the line exactly as written. */
export interface SpoolMessage {
  key: string;
  value: string;
}

interface Segment {
  path: string;
  /** Bytes of the file (exact once loaded; counted while appended, or from `stat` at scan). */
  bytes: number;
  /** Records in the file not yet acknowledged. */
  records: number;
  /** Parsed records and the count acknowledged so far; set when replay reaches this segment. */
  loaded?: { messages: SpoolMessage[]; acked: number };
}

interface ActiveSegment {
  segment: Segment;
  handle: FileHandle;
  lastSyncAt: number;
}

const SEGMENT_NAME = /^seg-(\d{12})\.ndjson$/;

/**
 * A bounded first-in-first-out spool of newline-delimited JSON records (impressions, events: any
 * JSON object with a string `user_id`, its Kafka key) on local disk, in segment
 * files `seg-<12-digit sequence>.ndjson` replayed oldest first (the sequence orders them).
 *
 * Writes go to one open segment; it is fsynced at most `fsyncIntervalMs` after an append and when
 * closed (on reaching `segmentMaxBytes`, when replay reaches it, on `close()`); the directory is
 * fsynced when a segment is created. A segment file is deleted only after every record in it was
 * acknowledged (`ack`). Durability: a crash of the process loses nothing that `append` returned
 * (the bytes are in the kernel's page cache); a crash of the machine loses at most the last
 * `fsyncIntervalMs` of appends to the open segment. A torn last line (machine crash mid-write) or
 * a line that is not JSON with a string `user_id` is skipped at replay and counted in `corrupt`.
 *
 * At construction, segments left by an earlier process are found (synchronously: it runs once at
 * start-up, reading each leftover file to count its lines) and replayed first.
 *
 * Not safe for concurrent calls: one caller (the delivery loop) drives it.
 *
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID when `dir` cannot be created or read, or a bound
 *   is not a positive number.
 */
export class DiskSpool {
  readonly #opts: DiskSpoolOptions;
  readonly #clock: Clock;
  /** Closed segments, oldest first. */
  readonly #closed: Segment[] = [];
  #active: ActiveSegment | undefined;
  #nextSeq = 0;
  #records = 0;
  #bytes = 0;
  #appended = 0;
  #corrupt = 0;

  constructor(opts: DiskSpoolOptions, clock: Clock) {
    for (const key of ['maxBytes', 'segmentMaxBytes', 'fsyncIntervalMs'] as const) {
      if (!(opts[key] > 0)) {
        throw new ReclabError(
          'RECLAB_ERR_CONFIG_INVALID',
          `${opts.label ?? 'impression'} spool ${key} must be > 0 (${opts[key]})`,
        );
      }
    }
    this.#opts = { ...opts };
    this.#clock = clock;
    let names: string[];
    try {
      mkdirSync(opts.dir, { recursive: true });
      names = readdirSync(opts.dir)
        .filter((n) => SEGMENT_NAME.test(n))
        .sort();
    } catch (err) {
      throw new ReclabError(
        'RECLAB_ERR_CONFIG_INVALID',
        `${opts.label ?? 'impression'} spool dir ${opts.dir}: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    for (const name of names) {
      const path = join(opts.dir, name);
      const content = readFileSync(path);
      let lines = 0;
      for (let i = content.indexOf(10); i !== -1; i = content.indexOf(10, i + 1)) lines++;
      this.#closed.push({ path, bytes: content.length, records: lines });
      this.#records += lines;
      this.#bytes += content.length;
      this.#nextSeq = Number(SEGMENT_NAME.exec(name)?.[1]) + 1;
    }
  }

  /** Records on disk not yet acknowledged (leftovers of an earlier process included). */
  get records(): number {
    return this.#records;
  }

  /** Bytes on disk over all segments. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Records appended by this instance (cumulative). */
  get appended(): number {
    return this.#appended;
  }

  /** Lines found unreadable at replay and skipped (cumulative): lost records. */
  get corrupt(): number {
    return this.#corrupt;
  }

  /** True when no segment holds an unacknowledged record. */
  get isEmpty(): boolean {
    return this.#closed.length === 0 && (this.#active === undefined || this.#active.segment.records === 0);
  }

  /**
   * Appends the longest prefix of `lines` (each one JSON document without a newline) that fits
   * under `maxBytes`, in one write.
   *
   * @returns how many lines were written (0 when the spool is full)
   * @throws the file system's error (ENOSPC, EACCES…); the open segment is then closed, so a torn
   *   write never sits in the middle of a segment, and nothing of this call is counted as written
   */
  async append(lines: readonly string[]): Promise<number> {
    let n = 0;
    let size = 0;
    for (const line of lines) {
      const b = Buffer.byteLength(line) + 1;
      if (this.#bytes + size + b > this.#opts.maxBytes) break;
      size += b;
      n++;
    }
    if (n === 0) return 0;
    const active = this.#active ?? (await this.#openSegment());
    try {
      await active.handle.write(`${lines.slice(0, n).join('\n')}\n`);
    } catch (err) {
      await this.#closeActive().catch(() => {});
      throw err;
    }
    active.segment.bytes += size;
    active.segment.records += n;
    this.#bytes += size;
    this.#records += n;
    this.#appended += n;
    if (active.segment.bytes >= this.#opts.segmentMaxBytes) {
      await this.#closeActive();
    } else if (this.#clock.now() - active.lastSyncAt >= this.#opts.fsyncIntervalMs) {
      await active.handle.sync();
      active.lastSyncAt = this.#clock.now();
    }
    return n;
  }

  /**
   * The next unacknowledged records of the oldest segment, at most `max`, in file order; closes the
   * open segment when it is the only one left. Segments whose lines are all unreadable are deleted
   * on the way.
   *
   * @returns the records, or `[]` when the spool is empty
   */
  async peek(max: number): Promise<SpoolMessage[]> {
    for (;;) {
      if (this.#closed.length === 0) {
        if (this.#active === undefined || this.#active.segment.records === 0) return [];
        await this.#closeActive();
      }
      const seg = this.#closed[0]!;
      const loaded = seg.loaded ?? (await this.#load(seg));
      if (loaded.acked < loaded.messages.length) {
        return loaded.messages.slice(loaded.acked, loaded.acked + max);
      }
      await this.#removeOldest();
    }
  }

  /**
   * Marks the first `n` records returned by the last `peek` as acknowledged; deletes the segment
   * file once all its records are.
   */
  async ack(n: number): Promise<void> {
    const seg = this.#closed[0];
    if (seg?.loaded === undefined || n <= 0) return;
    const done = Math.min(n, seg.loaded.messages.length - seg.loaded.acked);
    seg.loaded.acked += done;
    seg.records -= done;
    this.#records -= done;
    if (seg.loaded.acked >= seg.loaded.messages.length) await this.#removeOldest();
  }

  /** Fsyncs and closes the open segment; the files stay for the next process. Idempotent. */
  async close(): Promise<void> {
    await this.#closeActive();
  }

  async #openSegment(): Promise<ActiveSegment> {
    const path = join(this.#opts.dir, `seg-${String(this.#nextSeq++).padStart(12, '0')}.ndjson`);
    const handle = await open(path, 'ax');
    // The new name must survive a machine crash too, or its fsynced records would be unreachable.
    await syncDir(this.#opts.dir);
    const segment: Segment = { path, bytes: 0, records: 0 };
    this.#active = { segment, handle, lastSyncAt: this.#clock.now() };
    return this.#active;
  }

  async #closeActive(): Promise<void> {
    const active = this.#active;
    if (active === undefined) return;
    this.#active = undefined;
    try {
      await active.handle.sync();
    } finally {
      await active.handle.close();
    }
    if (active.segment.records > 0) {
      this.#closed.push(active.segment);
    } else {
      await unlink(active.segment.path).catch(() => {});
      this.#bytes -= active.segment.bytes;
    }
  }

  async #load(seg: Segment): Promise<{ messages: SpoolMessage[]; acked: number }> {
    const content = await readFile(seg.path, 'utf8');
    const lines = content.split('\n');
    const torn = lines.pop() ?? '';
    if (torn !== '') this.#corrupt++;
    const messages: SpoolMessage[] = [];
    for (const line of lines) {
      const key = userIdOf(line);
      if (key === undefined) this.#corrupt++;
      else messages.push({ key, value: line });
    }
    // The file is the truth: correct the counts kept while appending (a failed write may have
    // left part of its lines behind).
    const bytes = Buffer.byteLength(content);
    this.#bytes += bytes - seg.bytes;
    this.#records += messages.length - seg.records;
    seg.bytes = bytes;
    seg.records = messages.length;
    seg.loaded = { messages, acked: 0 };
    return seg.loaded;
  }

  async #removeOldest(): Promise<void> {
    const seg = this.#closed.shift();
    if (seg === undefined) return;
    await unlink(seg.path).catch(() => {});
    this.#bytes -= seg.bytes;
    this.#records -= seg.records;
  }
}

/** The record's `user_id` (its Kafka key), or undefined for a line that is not such a record. */
function userIdOf(line: string): string | undefined {
  try {
    const rec = JSON.parse(line) as { user_id?: unknown };
    return typeof rec.user_id === 'string' ? rec.user_id : undefined;
  } catch {
    return undefined;
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the records themselves are still fsynced.
  } finally {
    await handle?.close().catch(() => {});
  }
}
