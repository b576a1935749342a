// CPU accounting for `node scripts/run-tests.mjs --cpu` (a measurement, never used by CI): each test
// file runs in a cgroup v1 cpuacct group of its own, so its CPU seconds include every process it
// starts, however deep (forked nodes, Chromium, PostgreSQL, npm), which `process.cpuUsage()` or
// getrusage of the file's process cannot see once a grandchild is reparented. Needs root and a
// cgroup v1 cpuacct hierarchy at /sys/fs/cgroup/cpuacct; without one it says so and the run goes
// on without figures. A group is removed when its file ends; one a leftover process still holds is
// retried at the end of the run and named if it cannot go.

import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';

const hierarchy = '/sys/fs/cgroup/cpuacct';

/** The run's CPU accounting, or null (with a note on stderr) where cgroups cannot be used. */
export function cpuGroups() {
  const base = join(hierarchy, `ergo-tests-${process.pid}`);
  try {
    mkdirSync(base);
  } catch (err) {
    console.error(`run-tests: --cpu: no cgroup v1 cpuacct here (${err.message}); running without CPU figures`);
    return null;
  }
  const loadAtStart = loadavg();
  const machineAtStart = machineTicks();
  const leftovers = [];
  let n = 0;
  return {
    /** A fresh group for one file: `joinAndExec` is a sh -c script that joins it and execs "$@". */
    create() {
      const dir = join(base, `f${++n}`);
      try {
        mkdirSync(dir);
      } catch {
        return null;
      }
      return {
        joinAndExec: `echo $$ > '${dir}/cgroup.procs' && exec "$@"`,
        /** The group's CPU seconds so far (every process that ever ran in it); removes the group. */
        finish() {
          let seconds = null;
          try {
            seconds = Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9;
          } catch {
            // The group is gone: no figure.
          }
          if (!remove(dir)) leftovers.push(dir);
          return seconds;
        },
      };
    },
    /** The closing lines: totals, utilisation, the top files by CPU and by waiting. */
    report(list, wall) {
      const cores = availableParallelism();
      const measured = list.filter((r) => r.cpuSeconds != null);
      const total = measured.reduce((s, r) => s + r.cpuSeconds, 0);
      const fileTime = measured.reduce((s, r) => s + r.seconds, 0);
      const machine = machineTicks();
      const busy = machineAtStart === null || machine === null ? null : machineBusy(machineAtStart, machine);
      const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
      let out = `\n== CPU (cgroup v1 cpuacct, every descendant of each file counted)\n`;
      out += `  ${total.toFixed(0)} CPU-s in ${fileTime.toFixed(0)} s of file time; the run's utilisation `;
      out += `${((100 * total) / (wall * cores)).toFixed(0)} % of ${cores} cores x ${wall.toFixed(0)} s`;
      if (busy !== null) out += ` (the whole machine was ${(100 * busy).toFixed(0)} % busy, other users included)`;
      out += `\n  load average at start ${load(loadAtStart)}, at end ${load(loadavg())}\n`;
      const top = (title, key) => {
        out += `\n== top files by ${title}\n`;
        for (const r of [...measured].sort((a, b) => key(b) - key(a)).slice(0, 15))
          out += `  ${key(r).toFixed(1).padStart(6)} s  (wall ${r.seconds.toFixed(1)}, cpu ${r.cpuSeconds.toFixed(1)})  ${r.file.rel}\n`;
      };
      top('CPU seconds', (r) => r.cpuSeconds);
      top('wall minus CPU (waiting)', (r) => r.seconds - r.cpuSeconds);
      const stuck = leftovers.filter((dir) => !remove(dir));
      if (remove(base) === false || stuck.length > 0)
        out += `\n  cgroups still held by processes a file left running: ${stuck.join(', ') || base}\n`;
      return out;
    },
  };
}

function remove(dir) {
  if (!existsSync(dir)) return true;
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** The machine's busy and total jiffies from /proc/stat, or null. */
function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { idle, total };
  } catch {
    return null;
  }
}

function machineBusy(a, b) {
  const total = b.total - a.total;
  return total <= 0 ? 0 : 1 - (b.idle - a.idle) / total;
}
