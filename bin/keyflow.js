#!/usr/bin/env node
// The TypeScript sources run as they are, compiled on load by tsx: one code base for the CLI,
// the worker, the API and the tests, with no build step to forget.
require('tsx/cjs');
require('../commands/cli.ts');
