/** Commands that report print one JSON document on stdout with --json, text otherwise; logs go to stderr. */
export function emit(json: boolean, document: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(document, null, 2)}\n` : `${text()}\n`);
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export { table } from '../util/table.js';
