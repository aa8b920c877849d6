import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One DynamoDB Local (Java) for the whole run; endpoint via inject('dynamoEndpoint').
    globalSetup: ['./test/support/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Node 20 + current AWS SDK prints a "will require node >=22" warning per worker.
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The handlers' structured logs and metrics are tested where they matter, not printed.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    // 2-core machine that also hosts the DynamoDB Local JVM: at most two
    // worker processes. Forks (not threads) so native/SDK state is isolated.
    pool: 'forks',
    poolOptions: {
      forks: { minForks: 1, maxForks: 2 },
    },
  },
});
