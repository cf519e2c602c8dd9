// The workflow bundle of the ops tests: Keyflow's own workflows plus the fixtures.
export * from '../../workflows/index';
export * from './fixtures';
