import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** What can be checked of the LocalStack setup without Docker: the compose file and the init hooks. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOCALSTACK = join(ROOT, 'localstack');
const HOOKS = join(LOCALSTACK, 'init', 'ready.d');

type Compose = { services: Record<string, { image: string; ports: string[]; environment: Record<string, string>; volumes: string[] }> };

describe('localstack/docker-compose.yml', () => {
  const compose = parse(readFileSync(join(LOCALSTACK, 'docker-compose.yml'), 'utf8')) as Compose;
  const service = compose.services.localstack!;

  it('pins a community image that runs without an auth token (4.14.0 or earlier)', () => {
    const match = /^\$\{LOCALSTACK_IMAGE:-localstack\/localstack:(\d+)\.(\d+)\.(\d+)\}$/.exec(service.image);
    expect(match, service.image).not.toBeNull();
    const [major, minor, patch] = match!.slice(1).map(Number) as [number, number, number];
    expect(major * 1e6 + minor * 1e3 + patch).toBeLessThanOrEqual(4 * 1e6 + 14 * 1e3 + 0);
    // The token is passed through when set (newer tags), never required.
    expect(service.environment.LOCALSTACK_AUTH_TOKEN).toBe('${LOCALSTACK_AUTH_TOKEN:-}');
  });

  it("serves the edge port serverless-localstack deploys to, on this machine only, and mounts the init hooks", () => {
    expect(service.ports).toContain('127.0.0.1:4566:4566');
    expect(service.volumes).toContain('./init/ready.d:/etc/localstack/init/ready.d:ro');
    expect(service.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
  });
});

describe('localstack/init/ready.d', () => {
  const hooks = readdirSync(HOOKS).filter((f) => f.endsWith('.sh'));

  it('has the hooks the stack needs before deploy', () => {
    expect(hooks.sort()).toEqual(['10-checkpoint-bucket.sh', '20-training-image.sh']);
  });

  it.each(hooks)('%s is valid bash, executable, and stops on the first error', (hook) => {
    const file = join(HOOKS, hook);
    const check = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(statSync(file).mode & 0o111).not.toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toContain('set -euo pipefail');
  });

  it('makes the checkpoint bucket the local stage allows, with EventBridge notifications on', () => {
    const text = readFileSync(join(HOOKS, '10-checkpoint-bucket.sh'), 'utf8');
    const serverless = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
    expect(text).toContain('spot-training-local-data');
    expect(serverless).toMatch(/local:[\s\S]*allowedBuckets: spot-training-local-data/);
    expect(text).toContain('"EventBridgeConfiguration":{}');
  });
});
