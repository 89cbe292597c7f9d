/**
 * The import graph of ts/ (issue 34): no circles, type-only imports included, drawn
 * with the TypeScript compiler's own parser. A circle means a module cannot be
 * understood, tested or loaded without the ones that depend on it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers.js';

const src = join(root, 'ts');

function moduleGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(src);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest);
    const deps: string[] = [];
    sf.forEachChild((n) => {
      if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text.startsWith('.'))
        deps.push(relative(src, resolve(dirname(f), n.moduleSpecifier.text.replace(/\.js$/, '.ts'))));
    });
    graph.set(relative(src, f), deps);
  }
  return graph;
}

/** Strongly connected components of more than one module (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('no import circles in ts/ (type-only imports count too)', () => {
  const found = circles(moduleGraph());
  assert.equal(found, [], found.map((c) => `circle of ${c.length}: ${c.join(' -> ')}`).join('\n'));
});

test('the folders of ts/ form layers: no circle between them either (a folder never imports one that imports it)', () => {
  const top = (f: string) => (f.includes('/') ? (f.split('/')[0] as string) : f.replace(/\.ts$/, ''));
  const folders = new Map<string, string[]>();
  for (const [f, deps] of moduleGraph()) {
    const from = top(f);
    const to = deps.map(top).filter((d) => d !== from);
    folders.set(from, [...new Set([...(folders.get(from) ?? []), ...to])]);
  }
  const found = circles(folders);
  assert.equal(found, [], found.map((c) => `folders in a circle: ${c.join(', ')}`).join('\n'));
});

test('the check finds a circle when there is one', () => {
  assert.equal(
    circles(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', ['c.ts']],
        ['c.ts', ['a.ts']],
        ['d.ts', ['a.ts']],
      ]),
    ),
    [['a.ts', 'b.ts', 'c.ts']],
  );
});

test.run();
