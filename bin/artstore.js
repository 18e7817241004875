#!/usr/bin/env node
'use strict';
// fsync-heavy workloads block libuv pool threads; the default of 4 starves concurrent uploads.
// It must be set before the pool starts, so here rather than in the config module.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
// Node's on-disk compile cache: module compilation is most of a start, and a restart after a
// crash should be quick. Kept beside the code (not in the shared temp dir, where another user
// could plant a cache); NODE_COMPILE_CACHE moves it. A read-only install just goes without.
require('node:module').enableCompileCache?.(
  process.env.NODE_COMPILE_CACHE || require('node:path').join(__dirname, '..', '.cache', 'compile'),
);
require('../dist/src/bootstrap/main.js').run(process.argv.slice(2));
