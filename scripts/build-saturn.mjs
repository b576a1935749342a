#!/usr/bin/env node
// Builds the real Saturn registrar server (ergo-services/tools, `saturn/`, Business Source License
// 1.1) and a small Go Ergo node that registers on it (packages/saturn/test/go-node, ours, against
// Ergo v1.999.300 and ergo-services/registrar's Saturn client) for @ergo-ts/saturn's tests. Both
// are built from upstream sources into a cache directory OUTSIDE the repository: BSL code and
// anything built from it are never committed. The build is offline: every Go module comes from a
// git mirror (what the `fetch` tool leaves under ../.mirror/<owner>+<name>/repo), pinned to the
// exact versions tools' go.mod names, and is wired in with `replace` directives (GOPROXY=off).
//
// Needs Go >= 1.21 (Ergo 3.0); Debian bookworm has it as golang-1.23-go in bookworm-backports.
//
// Usage: node scripts/build-saturn.mjs [--quiet]
// Environment: SATURN_MIRROR (default ../.mirror), SATURN_CACHE (default
// ~/.cache/ergo-ts/saturn), GO (a go binary; default /usr/lib/go-1.23/bin/go, then `go`).
// Prints the two binaries' paths on success; exits 2 with a reason when a source or Go is
// missing (the tests then skip with that reason), 1 when a build step fails.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const mirror = resolve(process.env.SATURN_MIRROR ?? join(root, '..', '.mirror'));
const cache = resolve(process.env.SATURN_CACHE ?? join(homedir(), '.cache', 'ergo-ts', 'saturn'));

// module path -> [mirror name, git revision, subdirectory of the module in that repository].
// Versions: tools' go.mod at 40600ef2 (2024-09-04), the newest tools snapshot there is.
const MODULES = {
  'ergo.services/tools': ['ergo-services+tools', '40600ef2', ''],
  'ergo.services/ergo': ['ergo-services+ergo', 'v1.999.300', ''],
  'ergo.services/application': ['ergo-services+application', '7f2e1a954c05', ''],
  'ergo.services/logger': ['ergo-services+logger', '18407beea628', ''],
  'ergo.services/registrar': ['ergo-services+registrar', 'e6122854db7e', ''],
  'ergo.services/meta': ['ergo-services+meta', 'a97f6add8a78', ''],
  'github.com/fsnotify/fsnotify': ['fsnotify+fsnotify', 'v1.7.0', ''],
  'github.com/knadh/koanf/v2': ['knadh+koanf', 'v2.1.0', ''],
  'github.com/knadh/koanf/maps': ['knadh+koanf', 'maps/v0.1.1', 'maps'],
  'github.com/knadh/koanf/parsers/yaml': ['knadh+koanf', 'parsers/yaml/v0.1.0', 'parsers/yaml'],
  'github.com/knadh/koanf/providers/file': ['knadh+koanf', 'providers/file/v0.1.0', 'providers/file'],
  'github.com/fatih/color': ['fatih+color', 'v1.16.0', ''],
  'github.com/go-viper/mapstructure/v2': ['go-viper+mapstructure', 'v2.0.0-alpha.1', ''],
  'github.com/gorilla/websocket': ['gorilla+websocket', 'v1.5.0', ''],
  'github.com/mattn/go-colorable': ['mattn+go-colorable', 'v0.1.13', ''],
  'github.com/mattn/go-isatty': ['mattn+go-isatty', 'v0.0.20', ''],
  'github.com/mitchellh/copystructure': ['mitchellh+copystructure', 'v1.2.0', ''],
  'github.com/mitchellh/reflectwalk': ['mitchellh+reflectwalk', 'v1.0.2', ''],
  'golang.org/x/sys': ['golang+sys', 'v0.14.0', ''],
  'gopkg.in/yaml.v3': ['go-yaml+yaml', 'v3.0.1', ''],
};
// The Go node needs only these (and their own requirements, which the replaces cover).
const GO_NODE_MODULES = ['ergo.services/ergo', 'ergo.services/registrar'];

function fail(code, why) {
  console.error(`build-saturn: ${why}`);
  process.exit(code);
}
function log(line) {
  if (!quiet) console.error(`build-saturn: ${line}`);
}

function findGo() {
  const candidates = [process.env.GO, '/usr/lib/go-1.23/bin/go', '/usr/lib/go-1.22/bin/go', 'go'];
  for (const go of candidates) {
    if (!go) continue;
    const r = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const m = /^go1\.(\d+)/.exec(r.stdout.trim());
    if (m && Number(m[1]) >= 21) return go;
  }
  return fail(2, 'no Go >= 1.21 (install golang-1.23-go from bookworm-backports, or set GO)');
}

function gitDir(name) {
  const dir = join(mirror, name, 'repo');
  if (!existsSync(dir)) fail(2, `upstream source ${name} is not in ${mirror} (fetch github:${name.replace('+', '/')})`);
  return dir;
}

// Exports one module's tree at its pinned revision (git archive: no work tree needed).
function exportModule(modPath, into) {
  const [name, rev, sub] = MODULES[modPath];
  const git = gitDir(name);
  const verify = spawnSync('git', ['-C', git, 'rev-parse', '--verify', '-q', `${rev}^{commit}`], { encoding: 'utf8' });
  if (verify.status !== 0) fail(2, `${name} has no revision ${rev} (its mirror is too shallow)`);
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const tar = execFileSync('git', ['-C', git, 'archive', '--format=tar', rev.trim()], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', into], { input: tar });
  return sub ? join(into, sub) : into;
}

function replaces(srcDirs, modules) {
  return modules.map((m) => `replace ${m} => ${srcDirs.get(m)}`).join('\n');
}

function goBuild(go, dir, pkg, out) {
  const env = {
    ...process.env,
    GOPROXY: 'off',
    GOSUMDB: 'off',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOPATH: join(cache, 'gopath'),
    GOCACHE: join(cache, 'gocache'),
  };
  const r = spawnSync(go, ['build', '-trimpath', '-o', out, pkg], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) fail(1, `go build ${pkg} failed:\n${r.stderr}`);
}

const stamp = JSON.stringify({
  MODULES,
  node: readFileSync(join(root, 'packages/saturn/test/go-node/main.go'), 'utf8'),
});
const bin = join(cache, 'bin');
const server = join(bin, 'saturn');
const goNode = join(bin, 'saturn-go-node');
const stampFile = join(cache, 'stamp.json');
if (existsSync(server) && existsSync(goNode) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
  console.log(`${server}\n${goNode}`);
  process.exit(0);
}

const go = findGo();
for (const m of Object.keys(MODULES)) gitDir(MODULES[m][0]);
const src = join(cache, 'src');
rmSync(src, { recursive: true, force: true });
const srcDirs = new Map();
for (const m of Object.keys(MODULES)) {
  log(`exporting ${m} ${MODULES[m][1]}`);
  srcDirs.set(m, exportModule(m, join(src, m.replaceAll('/', '+'))));
}
mkdirSync(bin, { recursive: true });

// The server: tools' own go.mod plus a replace for every module it names.
const tools = srcDirs.get('ergo.services/tools');
const deps = Object.keys(MODULES).filter((m) => m !== 'ergo.services/tools');
writeFileSync(join(tools, 'go.mod'), `${readFileSync(join(tools, 'go.mod'), 'utf8')}\n${replaces(srcDirs, deps)}\n`);
rmSync(join(tools, 'go.sum'), { force: true });
log('building the Saturn server');
goBuild(go, tools, './saturn', `${server}.part`);
renameSync(`${server}.part`, server);

// The Go Ergo node: our main.go in a module of its own.
const nodeDir = join(src, 'go-node');
mkdirSync(nodeDir, { recursive: true });
cpSync(join(root, 'packages/saturn/test/go-node/main.go'), join(nodeDir, 'main.go'));
const mod = [
  'module ergo-ts.test/saturn-go-node',
  '',
  'go 1.21',
  '',
  'require (',
  '\tergo.services/ergo v1.999.300',
  '\tergo.services/registrar v0.0.0-20240904055058-e6122854db7e',
  ')',
  '',
  replaces(srcDirs, GO_NODE_MODULES),
  '',
].join('\n');
writeFileSync(join(nodeDir, 'go.mod'), mod);
log('building the Go Ergo node');
goBuild(go, nodeDir, '.', `${goNode}.part`);
renameSync(`${goNode}.part`, goNode);

writeFileSync(stampFile, stamp);
console.log(`${server}\n${goNode}`);
