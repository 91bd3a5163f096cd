#!/usr/bin/env node
// The package mirror on our build machines serves only linux-glibc builds of platform-specific packages, so npm
// leaves the other platforms' optional entries out of package-lock.json and `npm ci` then refuses the lockfile as
// "out of sync". This adds the missing entries (marked optional, with their os/cpu/libc, never installed here)
// so the lockfile is complete for every platform. Idempotent: run it after any `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;

for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (packages[target] || packages[`${path}/${target}`]) continue;
    const platform =
      /-(android|darwin|linux|win32|freebsd|openbsd|sunos|aix)-(arm64|x64|arm|ia32|riscv64|ppc64|s390x|loong64)(-(musl|gnu|msvc))?$/.exec(
        name,
      );
    if (!platform) continue;
    const [, os, cpu, , libc] = platform;
    const base = name.split('/').pop();
    packages[target] = {
      version,
      resolved: `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`,
      cpu: [cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(libc === 'musl' ? { libc: ['musl'] } : os === 'linux' ? { libc: ['glibc'] } : {}),
      optional: true,
      os: [os],
    };
    added++;
  }
}

if (added > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
  );
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(`complete-lockfile: ${added} platform entr${added === 1 ? 'y' : 'ies'} added`);
