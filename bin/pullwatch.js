#!/usr/bin/env node
// No build step: tsx compiles the TypeScript sources on the fly.
require('tsx/cjs');
require('../cli/main.ts');
