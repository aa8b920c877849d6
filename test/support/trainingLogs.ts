import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { LOCAL_CREDENTIALS } from '../../localcloud/localCloud.js';
import { TRAINING_LOG_GROUP, trainingLogStreamPrefix } from '../../shared/trainingLogs.js';

export interface StreamLog {
  stream: string;
  messages: string[];
}

/** Every stream of a job in the local cloud's CloudWatch Logs, by name, with its messages in order: the tests' own eyes. */
export async function readTrainingLogs(endpoint: string, job: string): Promise<StreamLog[]> {
  const client = new CloudWatchLogsClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  try {
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await client
        .send(new DescribeLogStreamsCommand({ logGroupName: TRAINING_LOG_GROUP, logStreamNamePrefix: trainingLogStreamPrefix(job), ...(next ? { nextToken: next } : {}) }))
        .catch((error: unknown) => {
          if ((error as Error).name === 'ResourceNotFoundException') return { logStreams: [], nextToken: undefined };
          throw error;
        });
      names.push(...(page.logStreams ?? []).map((s) => s.logStreamName ?? ''));
      next = page.nextToken;
    } while (next);
    const logs: StreamLog[] = [];
    for (const stream of names) {
      const messages: string[] = [];
      let token: string | undefined;
      for (;;) {
        const page = await client.send(new GetLogEventsCommand({ logGroupName: TRAINING_LOG_GROUP, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
        messages.push(...(page.events ?? []).map((e) => e.message ?? ''));
        if (page.nextForwardToken === token) break;
        token = page.nextForwardToken;
      }
      logs.push({ stream, messages });
    }
    return logs;
  } finally {
    client.destroy();
  }
}
