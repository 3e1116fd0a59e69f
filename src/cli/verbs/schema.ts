// vmstation schema: prints the JSON Schema of the cluster file.
import type { Command } from 'commander';
import { clusterJsonSchemaText } from '../../config/json-schema.js';
import type { CliIo } from '../io.js';

export function registerSchema(program: Command, io: CliIo): void {
  program
    .command('schema')
    .description('print the JSON Schema of the cluster file (for editors: yaml-language-server)')
    .action(() => {
      io.stdout.write(clusterJsonSchemaText());
    });
}
