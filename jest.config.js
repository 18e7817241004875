/** Four tiers (STYLE.md): unit, contract, integration, e2e. Infrastructure comes from test/support/global-setup. */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'commonjs' } },
  ],
};
const project = (name, testMatch, testTimeout) => ({
  displayName: name,
  testMatch,
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout,
});
module.exports = {
  projects: [
    project('unit', ['<rootDir>/test/unit/**/*.test.ts'], 5_000),
    project('contract', ['<rootDir>/test/contract/**/*.test.ts'], 30_000),
    project('integration', ['<rootDir>/test/integration/**/*.test.ts'], 60_000),
    project('e2e', ['<rootDir>/test/e2e/**/*.test.ts'], 180_000),
  ],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  transform,
};
