import type { Hash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A file downloaded in ranges that arrive in any order, by the restore of a checkpoint and the
 * download of an input channel alike: opened once at its full size, each range written at its
 * offset as the body streams in (a MiB at a time; a MiB of zeros is left a hole, so a sparse
 * file stays sparse), closed when its last range is in.
 */
export class RangedFile {
  private handle?: Promise<FileHandle>;
  private remaining: number;

  constructor(
    readonly path: string,
    readonly size: number,
    ranges: number,
  ) {
    this.remaining = ranges;
  }

  open(): Promise<FileHandle> {
    this.handle ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const handle = await open(this.path, 'w');
      await handle.truncate(this.size);
      return handle;
    })();
    return this.handle;
  }

  /**
   * Writes a range's body from `start`; `hash` sees every byte. Refuses (with `tooLong`'s
   * error) a body that runs past `end`; returns how many bytes it wrote.
   */
  async write(body: AsyncIterable<Uint8Array>, start: number, end: number, tooLong: () => Error, hash?: Hash): Promise<number> {
    const handle = await this.open();
    let position = start;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let pendingAt = position;
    const flush = async () => {
      if (!pendingBytes) return;
      const block = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      if (!allZero(block)) await handle.write(block, 0, block.length, pendingAt);
      pendingAt += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    for await (const piece of body) {
      const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (position + chunk.length > end + 1) throw tooLong();
      hash?.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      position += chunk.length;
      if (pendingBytes >= WRITE_BLOCK) await flush();
    }
    await flush();
    return position - start;
  }

  /** One range is in; true when it was the last, and the file is then closed. */
  async rangeDone(): Promise<boolean> {
    if (--this.remaining > 0) return false;
    await this.close();
    return true;
  }

  /** Closes the file, creating it (at its size) if no range opened it: an empty file has none. */
  async close(): Promise<void> {
    await (await this.open()).close();
  }

  /** Closes the file if it is open; the download failed. */
  async abandon(): Promise<void> {
    await (await this.handle?.catch(() => undefined))?.close().catch(() => undefined);
  }
}

const WRITE_BLOCK = 1024 * 1024;
const ZEROS = Buffer.alloc(2 * WRITE_BLOCK);
const allZero = (chunk: Buffer) => chunk.length <= ZEROS.length && chunk.equals(ZEROS.subarray(0, chunk.length));
