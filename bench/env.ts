/**
 * Imported first by bench/run.ts: quiets the product's logs and metrics before any module of
 * shared/ constructs its logger. A benchmark measures the work, not JSON lines on a terminal
 * (on Lambda, Powertools writes them to stdout asynchronously through the runtime).
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
export {};
