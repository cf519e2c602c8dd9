// The bundle test workers run: every production workflow plus small hand-written fixtures
// (external-system activities; ops scenarios).
export * from '../../../workflows/index';
export * from './external';
export * from './fixtures';
