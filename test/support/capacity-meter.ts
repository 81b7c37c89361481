/**
 * Counts the DynamoDB capacity a client's calls consume: asks every call for
 * `ReturnConsumedCapacity: TOTAL` (dynalite reports it as DynamoDB does) and adds up the answers.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

interface Consumed {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

export class CapacityMeter {
  readUnits = 0;
  writeUnits = 0;
  /** The most one single-item write consumed (≈ the item's size in KB, rounded up). */
  largestWriteUnits = 0;
  /** Of `writeUnits`, those of conditional writes refused (lost races: billed, nothing written). */
  refusedWriteUnits = 0;
  readonly byCommand = new Map<string, { calls: number; units: number }>();

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ReturnConsumedCapacity?: string };
        input.ReturnConsumedCapacity ??= 'TOTAL';
        try {
          const result = await next(args);
          this.record(
            context.commandName ?? 'unknown',
            (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity,
          );
          return result;
        } catch (error) {
          // A refused conditional write consumes capacity too (one unit at least), as in DynamoDB.
          if (WRITES.has(context.commandName ?? '')) {
            this.record(context.commandName ?? 'unknown', { CapacityUnits: 1 });
            this.refusedWriteUnits += 1;
          }
          throw error;
        }
      },
      { step: 'initialize', name: 'capacityMeter' },
    );
  }

  private record(command: string, consumed: unknown): void {
    const entries = (
      Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]
    ) as Consumed[];
    const units = entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    if (WRITES.has(command)) {
      this.writeUnits += units;
      if (command !== 'BatchWriteItemCommand')
        this.largestWriteUnits = Math.max(this.largestWriteUnits, units);
    } else {
      this.readUnits += units;
    }
    const seen = this.byCommand.get(command) ?? { calls: 0, units: 0 };
    this.byCommand.set(command, { calls: seen.calls + 1, units: seen.units + units });
  }

  reset(): void {
    this.readUnits = 0;
    this.writeUnits = 0;
    this.largestWriteUnits = 0;
    this.refusedWriteUnits = 0;
    this.byCommand.clear();
  }
}
