import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * serverless.yml as the local cloud needs it: each function's handler and the events that
 * invoke it. The variables the file uses are resolved the way the Serverless Framework
 * would for the given stage; an unresolvable one is an error that names it.
 */
export type FunctionEvent =
  | { kind: 'eventBridge'; pattern: Record<string, unknown> }
  | { kind: 's3'; bucket: string; prefix: string; suffix: string }
  | { kind: 'httpApi'; method: string; path: string }
  | { kind: 'schedule'; rate: string };

export interface FunctionWiring {
  name: string;
  /** `functions/api.handler` → module `functions/api`, export `handler`. */
  module: string;
  exportName: string;
  events: FunctionEvent[];
}

export interface ServerlessWiring {
  service: string;
  functions: FunctionWiring[];
  environment: Record<string, string>;
}

export interface ResolveContext {
  stage: string;
  region: string;
  accountId: string;
  params?: Record<string, string>;
  env?: Record<string, string | undefined>;
}

const VARIABLE = /\$\{([^${}]+)\}/;

function lookup(root: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), root);
}

/** Resolves `${self:…}`, `${sls:stage}`, `${opt:stage|region, default}`, `${param:…}`, `${env:…, default}`, `${aws:accountId|region}`. */
function resolveString(text: string, root: Record<string, unknown>, context: ResolveContext, depth = 0): unknown {
  if (depth > 10) throw new Error(`serverless.yml: variables nest too deep in '${text}'`);
  const whole = /^\$\{([^${}]+)\}$/.exec(text);
  const resolveOne = (expression: string): unknown => {
    const [reference = '', ...fallbackParts] = expression.split(',');
    const fallback = fallbackParts.join(',').trim().replace(/^['"]|['"]$/g, '');
    const [kind, path = ''] = reference.trim().split(/:(.*)/s);
    let value: unknown;
    switch (kind) {
      case 'self':
        value = lookup(root, path);
        break;
      case 'sls':
        value = path === 'stage' ? context.stage : undefined;
        break;
      case 'opt':
        value = path === 'stage' ? context.stage : path === 'region' ? context.region : undefined;
        break;
      case 'aws':
        value = path === 'accountId' ? context.accountId : path === 'region' ? context.region : undefined;
        break;
      case 'param': {
        const params = root.params as Record<string, Record<string, unknown>> | undefined;
        value = context.params?.[path] ?? params?.[context.stage]?.[path] ?? params?.default?.[path];
        break;
      }
      case 'env':
        value = (context.env ?? process.env)[path];
        break;
    }
    if (value === undefined || value === null) {
      // A fallback is a literal ('prod') or another source (`${param:accountId, aws:accountId}`).
      if (fallbackParts.length) return /^(self|sls|opt|aws|param|env):/.test(fallback) ? resolveOne(fallback) : fallback;
      throw new Error(`serverless.yml: cannot resolve \${${expression}}`);
    }
    return typeof value === 'string' ? resolveString(value, root, context, depth + 1) : value;
  };
  if (whole) return resolveOne(whole[1] ?? '');
  let result = text;
  for (let match = VARIABLE.exec(result); match; match = VARIABLE.exec(result)) {
    result = result.replace(match[0], String(resolveOne(match[1] ?? '')));
  }
  return result;
}

function resolveAll(node: unknown, root: Record<string, unknown>, context: ResolveContext): unknown {
  if (typeof node === 'string') return resolveString(node, root, context);
  if (Array.isArray(node)) return node.map((item) => resolveAll(item, root, context));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveAll(v, root, context)]));
  }
  return node;
}

export function readServerlessWiring(file: string, context: ResolveContext): ServerlessWiring {
  const root = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const functions = (root.functions ?? {}) as Record<string, { handler: string; events?: Record<string, unknown>[] }>;
  const provider = (root.provider ?? {}) as { environment?: Record<string, unknown> };
  const environment = resolveAll(provider.environment ?? {}, root, context) as Record<string, unknown>;
  const providerBuckets = resolveAll((provider as { s3?: unknown }).s3 ?? {}, root, context) as Record<string, { name?: string }>;
  return {
    service: String(root.service),
    // CloudFormation values (Ref, Fn::GetAtt) exist only on AWS: the local cloud leaves them out.
    environment: Object.fromEntries(Object.entries(environment).filter(([, v]) => typeof v !== 'object').map(([k, v]) => [k, String(v)])),
    functions: Object.entries(functions).map(([name, fn]) => {
      const handler = String(fn.handler);
      const dot = handler.lastIndexOf('.');
      return {
        name,
        module: handler.slice(0, dot),
        exportName: handler.slice(dot + 1),
        events: (fn.events ?? []).map((raw) => {
          const event = resolveAll(raw, root, context) as Record<string, Record<string, unknown>>;
          if (event.eventBridge?.schedule !== undefined) return { kind: 'schedule', rate: String(event.eventBridge.schedule) };
          if (event.eventBridge) return { kind: 'eventBridge', pattern: event.eventBridge.pattern as Record<string, unknown> };
          if (event.s3) {
            const rules = (event.s3.rules ?? []) as { prefix?: string; suffix?: string }[];
            return {
              kind: 's3',
              // A bucket named by its key under provider.s3 is that definition's bucket.
              bucket: String(providerBuckets[String(event.s3.bucket)]?.name ?? event.s3.bucket),
              prefix: rules.find((r) => r.prefix !== undefined)?.prefix ?? '',
              suffix: rules.find((r) => r.suffix !== undefined)?.suffix ?? '',
            };
          }
          if (event.httpApi) return { kind: 'httpApi', method: String(event.httpApi.method), path: String(event.httpApi.path) };
          if (event.schedule !== undefined) return { kind: 'schedule', rate: String(event.schedule) };
          throw new Error(`serverless.yml: function ${name} has an event the local cloud does not serve: ${Object.keys(event).join(', ')}`);
        }),
      };
    }),
  };
}
