#!/usr/bin/env node
// Entry point for `reclab` as an installed binary: registers tsx, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('./reclab.ts');
