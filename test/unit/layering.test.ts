import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The modules a file loads at run time: value imports and re-exports, not `import type`. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(import|export)\s+([^;]*?)\s+from\s+'([^']+)'/gms)) {
    const [, , clause = '', specifier = ''] = match;
    if (clause.startsWith('type ')) continue;
    const names = /^\{([^}]*)\}$/s.exec(clause.trim())?.[1];
    if (names !== undefined && names.split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    found.push(specifier);
  }
  for (const match of text.matchAll(/^import\s+'([^']+)'/gm)) found.push(match[1] ?? '');
  return found;
}

/** Every package a file reaches through the project's own modules, with the path that reaches it. */
function reachablePackages(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, path: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')), [...path, relative(ROOT, file)]);
      else if (!packages.has(specifier)) packages.set(specifier, [...path, relative(ROOT, file)]);
    }
  };
  visit(join(ROOT, entry), []);
  return packages;
}

describe('layering', () => {
  const core = ['shared/lifecycle/decide.ts', 'shared/lifecycle/money.ts', 'shared/jobEvents/processJobEvent.ts', 'shared/services.ts', 'shared/store/jobStore.ts'];
  it.each(core)('%s loads no AWS SDK module, directly or through another', (entry) => {
    // Prepare / Act
    const aws = [...reachablePackages(entry)].filter(([name]) => name.startsWith('@aws-sdk/') || name.startsWith('@smithy/'));
    // Assess: the path says which import to cut
    expect(aws.map(([name, path]) => `${name} via ${path.join(' → ')}`)).toEqual([]);
  });

  it('the lifecycle loads no package at all: it is pure', () => {
    const packages = [...reachablePackages('shared/lifecycle/decide.ts').keys()].filter((name) => !name.startsWith('node:'));
    expect(packages).toEqual([]);
  });

  it('the check sees an AWS SDK import where there is one', () => {
    expect([...reachablePackages('shared/store/dynamoJobStore.ts').keys()]).toContain('@aws-sdk/client-dynamodb');
  });
});
