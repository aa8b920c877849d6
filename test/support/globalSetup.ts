/**
 * Vitest globalSetup: one DynamoDB Local (in-memory, -sharedDb) for the whole
 * run. Tests get its endpoint with `inject('dynamoEndpoint')` and should use
 * uniquely named tables, because all test files share this one instance.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../localcloud/dynamodbLocal.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Silence the AWS SDK's Node-20 deprecation warning in this (main) process too.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return async () => {
    await dynamo.stop();
  };
}
