// From the checked model to the project's files (path → content), and onto the disk. Writing
// never overwrites a non-empty directory unless asked (`--force`), and it writes nothing at all
// when the target is refused.

import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { CreateError, CreateErrorCode } from './errors.js';
import { type PackageSource } from './from.js';
import { type Project, usesEntities, usesTls } from './model.js';
import {
  renderApp,
  renderActor,
  renderPool,
  renderSupervisor,
  renderTcp,
  renderUdp,
  renderWeb,
} from './render_process.js';
import {
  renderMessages,
  renderNode,
  renderPackageJson,
  renderReadme,
  renderTls,
  renderTsconfig,
} from './render_project.js';
import { renderEntity, renderEntityTest, renderStore } from './render_entity.js';
import { renderCluster, renderWorkflow, renderWorkflowTest } from './render_workflow.js';
import { renderMessagesTest, renderNodeTest, renderTest } from './render_tests.js';

/**
 * Renders every file of the project. `ergoVersion` is the ergo-ts version the project depends on
 * (`^<version>`), unless `source` (`--from`) says where the packages come from. Paths are relative
 * and use `/`; the map is in a stable order (sorted).
 */
export function generateFiles(project: Project, ergoVersion: string, source?: PackageSource): Map<string, string> {
  const files = new Map<string, string>();
  files.set('package.json', renderPackageJson(project, ergoVersion, source?.specs));
  files.set('tsconfig.json', renderTsconfig());
  // The Node version the project runs on, for nvm / fnm (`nvm install` reads it).
  files.set('.nvmrc', '24\n');
  const sqlite = usesEntities(project) && project.entityStore === 'sqlite';
  files.set(
    '.gitignore',
    `node_modules/\ndist/\n${project.loggers.includes('rotate') ? 'logs/\n' : ''}${sqlite ? 'entities.db*\n' : ''}${sqlite && project.workflows.length > 0 ? 'cluster.db*\n' : ''}`,
  );
  files.set('src/node.ts', renderNode(project));
  files.set('test/node.test.ts', renderNodeTest(project));
  if (usesTls(project)) files.set('src/tls.ts', renderTls(project));
  if (project.items.some((i) => i.kind === 'msg')) {
    files.set('src/messages.ts', renderMessages(project));
    files.set('test/messages.test.ts', renderMessagesTest(project));
  }
  for (const item of project.items) {
    const path = `${item.file}.ts`;
    switch (item.kind) {
      case 'app':
        files.set(path, renderApp(item, project));
        break;
      case 'sup':
        files.set(path, renderSupervisor(item));
        break;
      case 'actor':
        files.set(path, renderActor(item));
        break;
      case 'tcp':
        files.set(path, renderTcp(item));
        break;
      case 'pool':
      case 'web':
      case 'udp': {
        const r = item.kind === 'pool' ? renderPool(item) : item.kind === 'web' ? renderWeb(item) : renderUdp(item);
        files.set(path, r.pool);
        files.set(`${item.worker!.file}.ts`, r.worker);
        break;
      }
      case 'msg':
        break;
    }
    const test = renderTest(item);
    if (test !== undefined) files.set(`test/${item.lo}.test.ts`, test);
  }
  if (usesEntities(project)) files.set('src/store.ts', renderStore(project));
  for (const e of project.entities) {
    files.set(`${e.file}.ts`, renderEntity(e));
    files.set(`test/${e.lo}.test.ts`, renderEntityTest(e, project));
  }
  for (const w of project.workflows) {
    files.set(`${w.file}.ts`, renderWorkflow(w));
    files.set(`test/${w.lo}.test.ts`, renderWorkflowTest(w));
  }
  if (project.workflows.length > 0) files.set('src/cluster.ts', renderCluster(project));
  const sorted = [...files.keys(), 'README.md'].sort();
  files.set('README.md', renderReadme(project, sorted, source));
  // Templates join optional blocks; an absent one must not leave a double blank line.
  return new Map(sorted.map((k) => [k, files.get(k)!.replace(/\n{3,}/g, '\n\n')]));
}

/**
 * Writes `files` under `dir` (created when missing).
 * @throws CreateError ERR_CREATE_NOT_EMPTY when `dir` exists, is not empty and `force` is false
 *   (nothing is written), or when `dir` is a file.
 */
export function writeProject(dir: string, files: Map<string, string>, force: boolean): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new CreateError(CreateErrorCode.NotEmpty, `${dir} exists and is not a directory`);
    if (!force && readdirSync(dir).length > 0)
      throw new CreateError(
        CreateErrorCode.NotEmpty,
        `${dir} is not empty: choose another name or --path, or pass --force to write into it (files with the same names are replaced)`,
      );
  }
  for (const [path, content] of files) {
    const target = join(dir, ...path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}
