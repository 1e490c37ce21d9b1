/**
 * An error the user can fix: bad input, a missing file, a wrong option. The CLI prints its
 * message alone (no stack trace) and exits with code 1.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Where in a file a problem is, for messages like `train_split1.txt:12: ...`. */
export function at(file: string, line?: number): string {
  return line === undefined ? file : `${file}:${line}`;
}

/** What a file-system error code means, in words a user can act on; null for codes that are not about the file system. */
const FILE_SYSTEM_REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full; free some space and run the same command again (finished work is kept)',
  EDQUOT: 'the disk quota is exceeded; free some space and run the same command again (finished work is kept)',
  EROFS: 'the file system is read-only; choose a folder on a writable one',
  EACCES: 'permission denied; choose a folder you may write, or change its permissions',
  EPERM: 'operation not permitted; choose a folder you may write, or change its permissions',
  ENOTDIR: 'a part of this path is a file, not a folder',
  EEXIST: 'already exists, and is not a folder',
  EISDIR: 'is a folder, where a file is needed',
  ENOENT: 'no such file or folder',
  EMFILE: 'too many open files; raise the limit (ulimit -n) and run the same command again',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links in the path',
  EIO: 'an input/output error of the disk',
};

/**
 * A file-system error from Node (it carries the path and a code) as one message naming the path
 * and what to do, instead of "internal error"; null when `error` is not one.
 */
export function fileSystemError(error: unknown): UserError | null {
  const e = error as NodeJS.ErrnoException | null;
  if (!(e instanceof Error) || typeof e.code !== 'string' || !(e.code in FILE_SYSTEM_REASONS)) return null;
  const where = e.path ?? (e as { dest?: string }).dest;
  if (where === undefined) return null;
  return new UserError(`${where}: ${FILE_SYSTEM_REASONS[e.code]} (${e.code}${e.syscall ? ` in ${e.syscall}` : ''})`, { cause: error });
}
