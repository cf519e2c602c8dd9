// The same bundle with the non-deterministic edit of the fixtures.
export * from '../../../../workflows/index';
export * from './fixtures';
