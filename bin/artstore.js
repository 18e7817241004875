#!/usr/bin/env node
'use strict';
// fsync-heavy workloads block libuv pool threads; the default of 4 starves concurrent uploads.
// It must be set before the pool starts, so here rather than in the config module.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
// Node's on-disk compile cache (NODE_COMPILE_CACHE overrides its place, under the OS temp dir by
// default): module compilation is most of a start, and a restart after a crash should be quick.
require('node:module').enableCompileCache?.();
require('../dist/src/bootstrap/main.js').run(process.argv.slice(2));
