#!/usr/bin/env node
// The `crucible` command. The project runs TypeScript from source (internal packages export src/*.ts), so the bin
// registers tsx's ESM loader before importing the dispatcher; no build step stands between an edit and `npx crucible`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
