#!/usr/bin/env node
'use strict';
// fsync-heavy workloads block libuv pool threads; the default of 4 starves concurrent uploads.
// It must be set before the pool starts, so here rather than in the config module.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
require('../dist/src/bootstrap/main.js').run(process.argv.slice(2));
