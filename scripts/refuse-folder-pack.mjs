#!/usr/bin/env node
// `prepack` of every publishable package: `npm pack` or `npm publish` in a package folder (or
// `changeset publish`, which runs it there) would ship the folder's package.json as it is, with
// the monorepo's scripts and dev dependencies. The release is the tarball scripts/pack.mjs makes
// from a cleaned manifest (docs/contributing.md, "Releases"); this says so and stops.
const name = process.env.npm_package_name ?? 'this package';
console.error(
  `${name}: not packed from its folder (its package.json still has the monorepo's scripts and dev dependencies).\n` +
    `Pack every package with \`npm run pack\` (tarballs in .pack/), check them with \`npm run check:publish\`,\n` +
    `publish with \`npm run release\` or \`npm publish .pack/<tarball>\` (docs/contributing.md, "Releases").`,
);
process.exit(1);
