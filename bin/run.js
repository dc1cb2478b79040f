#!/usr/bin/env node
// Entry of the `ascend` CLI: runs the compiled commands listed in oclif.manifest.json.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
