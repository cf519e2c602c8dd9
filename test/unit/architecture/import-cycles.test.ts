import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Floors that go one way: the ground (runtime/) reaches for nothing above it, and no module
 * imports, through any chain, a module that imports it back.
 * Checked twice — for what runs (value imports), across the whole tree, and for every import,
 * types too, everywhere but the interpreter, whose behaviours share one engine-context interface
 * that names them all (a hub of types only: workflows/interpreter/engine.ts).
 */
const root = path.resolve(__dirname, '..', '..', '..');
const folders = ['activities', 'api', 'bin', 'commands', 'db', 'ops', 'runtime', 'sim', 'workflows'];
const typeHub = `workflows${path.sep}interpreter${path.sep}`;

interface ModuleImports {
  values: string[];
  all: string[];
}

function sourceFiles(folder: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files;
}

function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((candidate) => candidate.endsWith('.ts') && fs.existsSync(candidate));
}

function importsOf(file: string): ModuleImports {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const values: string[] = [];
  const all: string[] = [];
  for (const statement of source.statements) {
    let specifier: string | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text;
      const clause = statement.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      typeOnly = clause !== undefined && (clause.isTypeOnly || (!clause.name && named !== undefined && named.length > 0 && named.every((element) => element.isTypeOnly)));
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text;
      const named = statement.exportClause && ts.isNamedExports(statement.exportClause) ? statement.exportClause.elements : undefined;
      typeOnly = statement.isTypeOnly || (named !== undefined && named.length > 0 && named.every((element) => element.isTypeOnly));
    }
    const target = specifier === undefined ? undefined : resolve(file, specifier);
    if (!target) continue;
    all.push(target);
    if (!typeOnly) values.push(target);
  }
  return { values, all };
}

/** Every cycle's modules (Tarjan's strongly connected components of more than one module, or one importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.map((file) => path.relative(root, file)).sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('the import graph', () => {
  const modules = new Map<string, ModuleImports>();
  for (const folder of folders) for (const file of sourceFiles(path.join(root, folder))) modules.set(file, importsOf(file));

  it('reads the whole tree', () => {
    expect(modules.size).toBeGreaterThan(200);
  });

  it('keeps runtime/ the ground: config, logging, the HTTP server and the services import nothing of ours outside it', () => {
    const ground = path.join(root, 'runtime') + path.sep;
    const reachingUp = [...modules]
      .filter(([file]) => file.startsWith(ground))
      .flatMap(([file, imports]) => imports.all.filter((target) => !target.startsWith(ground)).map((target) => `${path.relative(root, file)} → ${path.relative(root, target)}`));
    expect(reachingUp).toEqual([]);
  });

  it('has no cycle among the imports that run', () => {
    expect(cycles(new Map([...modules].map(([file, imports]) => [file, imports.values])))).toEqual([]);
  });

  it('has no cycle even through type imports, but for the interpreter’s engine context', () => {
    const outsideHub = (file: string) => !path.relative(root, file).startsWith(typeHub);
    const graph = new Map([...modules].filter(([file]) => outsideHub(file)).map(([file, imports]) => [file, imports.all.filter(outsideHub)]));
    expect(cycles(graph)).toEqual([]);
  });
});
