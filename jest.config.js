/**
 * Two projects: `unit` needs nothing running; `integration` (workflow, API, browser, replay tests)
 * expects the services `keyflow test` starts and describes in the environment.
 * Both run in band (`--runInBand` from `keyflow test`): Temporal workers and a 2-core machine.
 */
const transform = {
  '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
};
// ESM-only packages (bpmn-moddle and friends, feelin) are compiled to CommonJS for jest.
const transformIgnorePatterns = ['/node_modules/(?!(bpmn-moddle|dmn-moddle|moddle|moddle-xml|saxen|min-dash|feelin|lezer-feel|@lezer|luxon|min-dom|p-limit|yocto-queue|serialize-error|type-fest|temporal-polyfill|temporal-spec|temporal-utils)/)'];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,workflow,replay,browser}/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      setupFiles: ['<rootDir>/test/support/require-services.ts'],
    },
  ],
  testTimeout: 120_000,
};
