import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts every request a DynamoDB client sends, by command and by how it reads or writes:
 * `GetItem(consistent)`, `UpdateItem(conditional)`, `Query`, `Scan`, … An SDK middleware at
 * the `initialize` step sees each command once per `send` (retries are not requests the code
 * made, so they are not counted twice).
 */
export class RequestCounter {
  private counts = new Map<string, number>();

  /** Adds the counting middleware to a client; returns the client. */
  attach(client: DynamoDBClient): DynamoDBClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.record(String(context.commandName ?? 'Unknown'), args.input as Record<string, unknown>);
        return next(args);
      },
      { step: 'initialize', name: 'benchRequestCounter' },
    );
    return client;
  }

  record(commandName: string, input: Record<string, unknown>): void {
    const command = commandName.replace(/Command$/, '');
    const flags: string[] = [];
    if (input.ConsistentRead === true) flags.push('consistent');
    if (typeof input.ConditionExpression === 'string') flags.push('conditional');
    if (command === 'TransactWriteItems') flags.push(`${(input.TransactItems as unknown[] | undefined)?.length ?? 0} items`);
    const key = flags.length ? `${command}(${flags.join(', ')})` : command;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts = new Map();
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** Requests of one command name, whatever their flags. */
  of(command: string): number {
    let sum = 0;
    for (const [key, n] of this.counts) if (key === command || key.startsWith(`${command}(`)) sum += n;
    return sum;
  }
}

/** `a − b` per key, for the requests made between two snapshots. */
export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(after)) {
    const d = n - (before[key] ?? 0);
    if (d) out[key] = d;
  }
  return out;
}
