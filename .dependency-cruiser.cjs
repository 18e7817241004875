/**
 * The layer rule (STYLE.md): domain imports nothing outside itself; application imports only
 * domain and Node built-ins; nothing but bootstrap imports bootstrap; adapters never import bootstrap.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports nothing outside src/domain (no framework, no Node API, no adapter).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'application-imports-only-domain-and-node',
      comment: 'src/application may import src/domain, itself and Node built-ins, nothing else.',
      severity: 'error',
      from: { path: '^src/application/' },
      to: { pathNot: ['^src/domain/', '^src/application/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'adapters-do-not-know-topology',
      comment: 'Only bootstrap wires things together; adapters never import it.',
      severity: 'error',
      from: { path: '^src/(adapters|application|domain)/' },
      to: { path: '^src/bootstrap/' },
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
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
