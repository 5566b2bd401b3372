/** Module boundaries of docs/ARCHITECTURE.md, checked in CI (`npm run lint`). */
const DOMAIN = '^src/(fhir|terminology|checks|quality|coding|mpi|claims|measures|audit|security)/';
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'Domain modules import neither the store, the server, the CLI, nor the record services.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: '^src/(store|server|cli|records)/' },
    },
    {
      name: 'domain-no-io',
      comment: 'Domain modules do no I/O: no pg, PGlite, file system, network or child processes.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: '^(pg|@electric-sql/pglite|fs|node:fs|fs/promises|node:fs/promises|net|node:net|http|node:http|https|node:https|child_process|node:child_process|fastify)$', dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'store-knows-no-http',
      comment: 'The store knows nothing of HTTP or the CLI.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^(src/(server|cli|records)/|fastify$|commander$)' },
    },
    {
      name: 'records-not-edge',
      comment: 'Record services are called by the edges, never the other way round.',
      severity: 'error',
      from: { path: '^src/records/' },
      to: { path: '^src/(server|cli)/' },
    },
    {
      name: 'server-not-cli',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'web-not-server',
      comment: 'The browser app talks to the HTTP API only.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] },
  },
};
