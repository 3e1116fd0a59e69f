// Every verb of the CLI, in the order `--help` lists them. Each capability adds one line.
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { registerInit } from './init.js';
import { registerRender } from './render.js';
import { registerSchema } from './schema.js';
import { registerSecrets } from './secrets.js';
import { registerValidate } from './validate.js';

export type RegisterVerb = (program: Command, io: CliIo) => void;

export const VERBS: readonly RegisterVerb[] = [
  registerValidate,
  registerRender,
  registerSecrets,
  registerInit,
  registerSchema,
];
