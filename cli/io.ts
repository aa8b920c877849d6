/** Where a command writes, and what it knows about the terminal: swapped in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: progress displays instead of plain lines. */
  isTTY: boolean;
  columns: number;
  env: Record<string, string | undefined>;
  /** Reads a file named by `file://…`. */
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
  sleep(ms: number): Promise<void>;
}
