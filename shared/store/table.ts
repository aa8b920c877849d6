import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one table. Items:
 * - a job:            pk `job#<TrainingJobName>`, the JobRecord plus the index keys below;
 * - an instance:      pk `instance#<instance-id>` → the job and attempt it was launched for
 *                     (read consistently on the hot path: GSIs are eventually consistent);
 * - a checkpoint uri: pk `checkpoints#<bucket>/<prefix>/` → the job whose manifests land there.
 * Indexes are sparse: only job items carry `JobList`, only unfinished jobs carry `DueAt`.
 */
export const INDEX = {
  byCreationTime: 'ByCreationTime',
  byName: 'ByName',
  byStatus: 'ByStatus',
  byDeadline: 'ByDeadline',
} as const;

export const TTL_ATTRIBUTE = 'ExpiresAt';

export function tableDefinition(tableName: string): CreateTableCommandInput {
  const index = (IndexName: string, hash: string, range: string) => ({
    IndexName,
    KeySchema: [
      { AttributeName: hash, KeyType: 'HASH' as const },
      { AttributeName: range, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'JobList', AttributeType: 'S' },
      { AttributeName: 'CreationKey', AttributeType: 'S' },
      { AttributeName: 'NameKey', AttributeType: 'S' },
      { AttributeName: 'StatusKey', AttributeType: 'S' },
      { AttributeName: 'DueList', AttributeType: 'S' },
      { AttributeName: 'DueAt', AttributeType: 'N' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      index(INDEX.byCreationTime, 'JobList', 'CreationKey'),
      index(INDEX.byName, 'JobList', 'NameKey'),
      index(INDEX.byStatus, 'JobList', 'StatusKey'),
      index(INDEX.byDeadline, 'DueList', 'DueAt'),
    ],
  };
}
