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
