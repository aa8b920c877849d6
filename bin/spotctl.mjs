#!/usr/bin/env node
// spotctl's launcher: runs cli/main.ts through tsx, so that `npx spotctl …` works from a clone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
await import(new URL('../cli/main.ts', import.meta.url).href);
