import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A snapshot of LocalPath that costs nothing for files written atomically: every file is
 * hard-linked into a sibling folder, so a training script that writes a new file and renames
 * it over the old one leaves the snapshot with the old file, whole. A file the script rewrites
 * in place changes under the link too; the upload notices (size or modification time moved
 * while it read) and takes a private copy of that one file (see `privateCopy`).
 * Where links cannot be made (another file system, a file system without them), files are copied.
 */
export interface SnapshotFile {
  /** Relative to LocalPath, `/`-separated. */
  path: string;
  /** The file in the snapshot. */
  absolute: string;
  size: number;
  mtimeNs: bigint;
}

export interface Snapshot {
  dir: string;
  files: SnapshotFile[];
  /** Folders that hold no file. */
  directories: string[];
  /** Files that had to be copied because no hard link could be made. */
  copied: number;
}

/** What identifies a version of a file: a rewrite in place changes one of these. */
export interface FileVersion {
  size: number;
  mtimeNs: bigint;
}

export async function versionOf(path: string): Promise<FileVersion> {
  const s = await stat(path, { bigint: true });
  return { size: Number(s.size), mtimeNs: s.mtimeNs };
}

export const sameVersion = (a: FileVersion, b: FileVersion) => a.size === b.size && a.mtimeNs === b.mtimeNs;

const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);

export async function takeSnapshot(localPath: string, dir: string): Promise<Snapshot> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const snapshot: Snapshot = { dir, files: [], directories: [], copied: 0 };
  const walk = async (relative: string) => {
    const source = join(localPath, relative);
    const entries = await readdir(source, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    let holdsFile = false;
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await mkdir(join(dir, path), { recursive: true });
        if (await walk(path)) holdsFile = true;
        else snapshot.directories.push(path);
      } else if (entry.isFile()) {
        const absolute = join(dir, path);
        try {
          await link(join(localPath, path), absolute);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? '';
          // Deleted since the listing: it is not part of this checkpoint.
          if (code === 'ENOENT') continue;
          if (!LINK_REFUSED.has(code)) throw error;
          await copyFile(join(localPath, path), absolute);
          snapshot.copied++;
        }
        const version = await versionOf(absolute);
        snapshot.files.push({ path, absolute, ...version });
        holdsFile = true;
      }
      // Symbolic links, sockets and devices are not checkpointed.
    }
    return holdsFile;
  };
  await walk('');
  return snapshot;
}

/**
 * Replaces a snapshot file, rewritten in place while it was read, by a private copy taken
 * while the file stood still (its version the same before and after the copy). The copy no
 * longer follows the training script's writes. Undefined when the file kept changing.
 */
export async function privateCopy(file: SnapshotFile): Promise<FileVersion | undefined> {
  const copy = `${file.absolute}.copy`;
  const before = await versionOf(file.absolute);
  // COPYFILE_FICLONE: a reflink where the file system has them, a plain copy elsewhere.
  await copyFile(file.absolute, copy, constants.COPYFILE_FICLONE);
  const after = await versionOf(file.absolute);
  if (!sameVersion(before, after)) {
    await rm(copy, { force: true });
    return undefined;
  }
  await rename(copy, file.absolute);
  // The copy holds the file as it was at `before`: that is the version the checkpoint records.
  return before;
}

export async function removeSnapshot(snapshot: Snapshot): Promise<void> {
  await rm(snapshot.dir, { recursive: true, force: true });
}

/** What the folder holds now (names, sizes, modification times): a checkpoint is taken only when it changed. */
export async function fingerprint(localPath: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (relative: string) => {
    const entries = await readdir(join(localPath, relative), { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        parts.push(`${path}/`);
        await walk(path);
      } else if (entry.isFile()) {
        const s = await stat(join(localPath, path), { bigint: true }).catch(() => undefined);
        if (s) parts.push(`${path}:${s.size}:${s.mtimeNs}`);
      }
    }
  };
  await walk('');
  return parts.join('|');
}
