import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { EpochMillis, JobRecord } from '../lifecycle/job.js';
import { TERMINAL_TRAINING_JOB_STATUSES, type SecondaryStatus } from '../lifecycle/statuses.js';
import { JOB_LIST, JobExistsError, JobNotFoundError, JobNotTerminalError, StaleRecordError, type InstanceOwner, type JobStore, type JobWrite, type ListPage, type ListQuery } from './jobStore.js';
import { INDEX, TTL_ATTRIBUTE } from './table.js';

const DUE_LIST = 'due';
const INSTANCE_TTL_SECONDS = 90 * 24 * 3600;

/**
 * Two names that differ only in case are one job: its ARN is lower-cased, and two jobs must
 * never share an ARN, so uniqueness and lookups ignore case.
 */
const jobKey = (name: string) => `job#${name.toLowerCase()}`;
const instanceKey = (id: string) => `instance#${id}`;

/** Creation time as a sortable string: 13 digits of epoch millis. */
const sortableTime = (t: EpochMillis) => String(Math.max(0, Math.floor(t))).padStart(13, '0');

/** Attributes only the table's indexes need; derived from the record and its next deadline. */
function indexAttributes(job: JobRecord, due: EpochMillis | undefined): Record<string, unknown> {
  return { ...listAttributes(job), ...(due === undefined ? {} : { DueList: DUE_LIST, DueAt: due }) };
}

function listAttributes(job: JobRecord): Record<string, unknown> {
  return {
    JobList: JOB_LIST,
    CreationKey: `${sortableTime(job.CreationTime)}#${job.TrainingJobName}`,
    // Its own attribute, not TrainingJobName: a key attribute cannot be filtered on (NameContains).
    NameKey: job.TrainingJobName,
    StatusKey: `${job.TrainingJobStatus}#${sortableTime(job.CreationTime)}#${job.TrainingJobName}`,
  };
}

/** The deadline index's attributes as stored, so that a write changes them only when they change. */
const STORAGE_ONLY = ['pk', 'JobList', 'CreationKey', 'NameKey', 'StatusKey', 'DueList', 'DueAt'];

function toRecord(item: Record<string, unknown> | undefined): JobRecord | undefined {
  if (!item) return undefined;
  const record: Record<string, unknown> = { ...item };
  for (const attribute of STORAGE_ONLY) delete record[attribute];
  return record as unknown as JobRecord;
}

export class DynamoJobStore implements JobStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async create(job: JobRecord, dueAt: EpochMillis | undefined): Promise<void> {
    const jobItem = { pk: jobKey(job.TrainingJobName), ...job, ...indexAttributes(job, dueAt) };
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: jobItem, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new JobExistsError(`Training job ${job.TrainingJobName} already exists`);
      }
      throw error;
    }
  }

  async get(name: string): Promise<JobRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: jobKey(name) }, ConsistentRead: true }));
    return toRecord(Item);
  }

  async write(before: JobRecord, change: JobWrite): Promise<void> {
    const after = change.job;
    const names: Record<string, string> = { '#Version': 'Version', '#SecondaryStatus': 'SecondaryStatus', '#CurrentAttempt': 'CurrentAttempt' };
    const values: Record<string, unknown> = { ':version': before.Version, ':attempt': before.CurrentAttempt };
    const sets: string[] = [];
    const removes: string[] = [];
    const beforeItem: Record<string, unknown> = { ...before, ...listAttributes(before) };
    const afterItem: Record<string, unknown> = { ...after, ...listAttributes(after) };
    // Whole top-level attributes only: paths never overlap, and the version check makes it safe.
    for (const attribute of new Set([...Object.keys(beforeItem), ...Object.keys(afterItem)])) {
      const was = beforeItem[attribute];
      const is = afterItem[attribute];
      if (JSON.stringify(was) === JSON.stringify(is)) continue;
      names[`#${attribute}`] = attribute;
      if (is === undefined) removes.push(`#${attribute}`);
      else {
        values[`:${attribute}`] = is;
        sets.push(`#${attribute} = :${attribute}`);
      }
    }
    // The deadline index is written on every write: the decision says what it is now.
    names['#DueList'] = 'DueList';
    names['#DueAt'] = 'DueAt';
    if (change.dueAt === undefined) removes.push('#DueList', '#DueAt');
    else {
      values[':DueList'] = DUE_LIST;
      values[':DueAt'] = change.dueAt;
      sets.push('#DueList = :DueList', '#DueAt = :DueAt');
    }
    const statusValues = change.guardStatuses.map((status: SecondaryStatus, i) => {
      values[`:from${i}`] = status;
      return `:from${i}`;
    });
    const conditions = ['#Version = :version', `#SecondaryStatus IN (${statusValues.join(', ')})`, '#CurrentAttempt = :attempt'];
    if (change.guardInstanceId && before.CurrentInstanceIds.includes(change.guardInstanceId)) {
      names['#CurrentInstanceIds'] = 'CurrentInstanceIds';
      values[':instanceId'] = change.guardInstanceId;
      conditions.push('contains(#CurrentInstanceIds, :instanceId)');
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: jobKey(before.TrainingJobName) },
          UpdateExpression: [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
            .filter(Boolean)
            .join(' '),
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        if (!error.Item) throw new JobNotFoundError(`Training job ${before.TrainingJobName} no longer exists`);
        throw new StaleRecordError(toRecord(unmarshall(error.Item))!);
      }
      throw error;
    }
  }

  async delete(name: string): Promise<JobRecord> {
    try {
      const { Attributes } = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: jobKey(name) },
          ConditionExpression: 'attribute_exists(pk) AND TrainingJobStatus IN (:completed, :failed, :stopped)',
          ExpressionAttributeValues: {
            ':completed': TERMINAL_TRAINING_JOB_STATUSES[0],
            ':failed': TERMINAL_TRAINING_JOB_STATUSES[1],
            ':stopped': TERMINAL_TRAINING_JOB_STATUSES[2],
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toRecord(Attributes)!;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        if (!error.Item) throw new JobNotFoundError(`Training job ${name} does not exist`);
        throw new JobNotTerminalError(`Training job ${name} is ${unmarshall(error.Item).TrainingJobStatus}`);
      }
      throw error;
    }
  }

  async list(query: ListQuery): Promise<ListPage> {
    const names: Record<string, string> = { '#list': 'JobList' };
    const values: Record<string, unknown> = { ':list': JOB_LIST };
    const filters: string[] = [];
    let keyCondition = '#list = :list';
    let indexName: string;
    const after = query.creationTimeAfter;
    const before = query.creationTimeBefore;
    if (query.sortBy === 'CreationTime' && query.statusEquals) {
      // Status first, then creation time: equality on status leaves the order by time.
      indexName = INDEX.byStatus;
      names['#sk'] = 'StatusKey';
      values[':lo'] = `${query.statusEquals}#${after === undefined ? '' : sortableTime(after + 1)}`;
      values[':hi'] = `${query.statusEquals}#${before === undefined ? '~' : sortableTime(before - 1) + '~'}`;
      keyCondition += ' AND #sk BETWEEN :lo AND :hi';
    } else if (query.sortBy === 'CreationTime') {
      indexName = INDEX.byCreationTime;
      if (after !== undefined || before !== undefined) {
        names['#sk'] = 'CreationKey';
        values[':lo'] = after === undefined ? '0' : sortableTime(after + 1);
        values[':hi'] = before === undefined ? '~' : `${sortableTime(before - 1)}~`;
        keyCondition += ' AND #sk BETWEEN :lo AND :hi';
      }
    } else {
      indexName = query.sortBy === 'Name' ? INDEX.byName : INDEX.byStatus;
      if (query.statusEquals) {
        names['#status'] = 'TrainingJobStatus';
        values[':status'] = query.statusEquals;
        filters.push('#status = :status');
      }
      if (after !== undefined) {
        names['#created'] = 'CreationTime';
        values[':after'] = after;
        filters.push('#created > :after');
      }
      if (before !== undefined) {
        names['#created'] = 'CreationTime';
        values[':before'] = before;
        filters.push('#created < :before');
      }
    }
    if (query.nameContains) {
      names['#name'] = 'TrainingJobName';
      values[':contains'] = query.nameContains;
      filters.push('contains(#name, :contains)');
    }
    const jobs: JobRecord[] = [];
    let startKey = query.startKey;
    // Filters thin out pages: keep reading until the page is full or the index ends.
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: keyCondition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: query.ascending,
        Limit: query.limit - jobs.length,
        ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      };
      const page = await this.doc.send(new QueryCommand(input));
      for (const item of page.Items ?? []) {
        const job = toRecord(item);
        if (job) jobs.push(job);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && jobs.length < query.limit);
    return { jobs, ...(startKey ? { lastKey: startKey } : {}) };
  }

  async registerInstances({ JobName: jobName, Attempt: attempt, InstanceType: instanceType }: InstanceOwner, instanceIds: string[], now: EpochMillis): Promise<void> {
    await Promise.all(
      instanceIds.map(async (id) => {
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: {
                pk: instanceKey(id),
                JobName: jobName,
                Attempt: attempt,
                InstanceType: instanceType,
                [TTL_ATTRIBUTE]: Math.floor(now / 1000) + INSTANCE_TTL_SECONDS,
              },
              // An instance id is never reused by EC2; a redelivered launch writes the same item.
              ConditionExpression: 'attribute_not_exists(pk) OR (JobName = :job AND Attempt = :attempt)',
              ExpressionAttributeValues: { ':job': jobName, ':attempt': attempt },
            }),
          );
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) {
            throw new Error(`Instance ${id} is already registered to another job or attempt`);
          }
          throw error;
        }
      }),
    );
  }

  async instanceOwner(instanceId: string): Promise<InstanceOwner | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: instanceKey(instanceId) }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { JobName: String(Item.JobName), Attempt: Number(Item.Attempt), InstanceType: String(Item.InstanceType) };
  }

  async dueJobs(now: EpochMillis, limit = 1000): Promise<string[]> {
    const names: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.byDeadline,
          KeyConditionExpression: 'DueList = :due AND DueAt <= :now',
          ExpressionAttributeValues: { ':due': DUE_LIST, ':now': now },
          ProjectionExpression: 'TrainingJobName',
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) names.push(String(item.TrainingJobName));
      startKey = page.LastEvaluatedKey;
    } while (startKey && names.length < limit);
    return names.slice(0, limit);
  }
}
