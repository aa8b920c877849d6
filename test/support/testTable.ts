import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { DynamoJobStore } from '../../shared/store/dynamoJobStore.js';
import { tableDefinition } from '../../shared/store/table.js';
import { createDynamoDbLocalClient } from '../../localcloud/dynamodbLocal.js';

export interface TestTable {
  client: DynamoDBClient;
  tableName: string;
  store: DynamoJobStore;
  drop(): Promise<void>;
}

/** A fresh table, defined exactly as deployed, in the run's DynamoDB Local. */
export async function createTestTable(): Promise<TestTable> {
  const client = createDynamoDbLocalClient(inject('dynamoEndpoint'));
  const tableName = `jobs-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateTableCommand(tableDefinition(tableName)));
  return {
    client,
    tableName,
    store: new DynamoJobStore(client, tableName),
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
