/**
 * Smoke test proving DynamoDB Local supports the features spot-training relies
 * on: on-demand tables, conditional writes, ReturnValuesOnConditionCheckFailure
 * and TransactWriteItems.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createDynamoDbLocalClient } from '../../localcloud/dynamodbLocal.js';

const endpoint = inject('dynamoEndpoint');
const tableName = `it-ddblocal-${randomUUID()}`;
let client: DynamoDBClient;

beforeAll(async () => {
  client = createDynamoDbLocalClient(endpoint);
  const created = await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  expect(created.TableDescription?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
});

afterAll(async () => {
  try {
    await client?.send(new DeleteTableCommand({ TableName: tableName }));
  } finally {
    client?.destroy();
  }
});

describe('DynamoDB Local', () => {
  it('runs a conditional PutItem with attribute_not_exists only once', async () => {
    const put = new PutItemCommand({
      TableName: tableName,
      Item: { pk: { S: 'job#1' }, sk: { S: 'meta' }, status: { S: 'Pending' }, version: { N: '1' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    await client.send(put);
    const second = client.send(put);
    await expect(second).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await expect(second).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  });

  it('returns the old item from a failed conditional UpdateItem (ReturnValuesOnConditionCheckFailure ALL_OLD)', async () => {
    const error = await client
      .send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: 'job#1' }, sk: { S: 'meta' } },
          UpdateExpression: 'SET #status = :next, version = version + :one',
          ConditionExpression: '#status = :expected',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':next': { S: 'Completed' },
            ':expected': { S: 'InProgress' },
            ':one': { N: '1' },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    const old = (error as ConditionalCheckFailedException).Item;
    expect(old).toEqual({
      pk: { S: 'job#1' },
      sk: { S: 'meta' },
      status: { S: 'Pending' },
      version: { N: '1' },
    });
  });

  it('commits TransactWriteItems atomically and cancels the whole transaction on a failed condition', async () => {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: { pk: { S: 'job#1' }, sk: { S: 'meta' } },
              UpdateExpression: 'SET #status = :next, version = version + :one',
              ConditionExpression: '#status = :expected',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':next': { S: 'InProgress' },
                ':expected': { S: 'Pending' },
                ':one': { N: '1' },
              },
            },
          },
          {
            Put: {
              TableName: tableName,
              Item: { pk: { S: 'job#1' }, sk: { S: 'transition#0001' }, to: { S: 'InProgress' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );

    const meta = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'job#1' }, sk: { S: 'meta' } }, ConsistentRead: true }),
    );
    expect(meta.Item?.['status']).toEqual({ S: 'InProgress' });
    expect(meta.Item?.['version']).toEqual({ N: '2' });

    // Second transaction: first action would succeed, second fails -> nothing is written.
    const error = await client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: { pk: { S: 'job#1' }, sk: { S: 'meta' } },
                UpdateExpression: 'SET #status = :next',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':next': { S: 'Stopping' } },
              },
            },
            {
              Put: {
                TableName: tableName,
                Item: { pk: { S: 'job#1' }, sk: { S: 'transition#0001' }, to: { S: 'Stopping' } },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
    expect(reasons.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(reasons[1]?.Item?.['to']).toEqual({ S: 'InProgress' });

    const after = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'job#1' }, sk: { S: 'meta' } }, ConsistentRead: true }),
    );
    expect(after.Item?.['status']).toEqual({ S: 'InProgress' });
  });
});
