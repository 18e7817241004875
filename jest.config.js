/** Four tiers (STYLE.md): unit, contract, integration, e2e; plus the chaos campaigns (issue 7). Infrastructure comes from test/support/global-setup. */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'commonjs' } },
  ],
};
const project = (name, testMatch, setup = []) => ({
  displayName: name,
  testMatch,
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFilesAfterEnv: [`<rootDir>/test/support/timeout/${name}.ts`, ...setup],
});
module.exports = {
  projects: [
    project('unit', ['<rootDir>/test/unit/**/*.test.ts']),
    project('contract', ['<rootDir>/test/contract/**/*.test.ts']),
    project('integration', ['<rootDir>/test/integration/**/*.test.ts']),
    project('e2e', ['<rootDir>/test/e2e/**/*.test.ts'], ['<rootDir>/test/support/e2e-setup.ts']),
    // Issue 7's campaigns: tier 1 runs with the rest, tier 2 with `npm run test:chaos` (CHAOS_TIER=2).
    project('chaos', ['<rootDir>/test/chaos/**/*.test.ts'], ['<rootDir>/test/support/e2e-setup.ts']),
  ],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  transform,
};
