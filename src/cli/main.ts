/** The custodian command line. */
import { Command } from 'commander';
import { registerCheckCommands } from './check-command.js';
import { exportCommand } from './export-command.js';
import { importCommand } from './import-command.js';
import { registerMpiCommands } from './mpi-command.js';
import { printError } from './output.js';
import { reindexCommand } from './reindex-command.js';
import { registerSecurityCommands } from './security-command.js';
import { serveCommand } from './serve-command.js';
import { registerTerminologyCommands } from './terminology-command.js';

// A reader that stops early (custodian ... | head) closes the pipe. The command still finishes its
// work (an import still commits); what it would have printed is dropped, with no stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const program = new Command();
program.name('custodian').description('Custodian: health information management on FHIR R4').version('0.1.0');

const dataOption = ['--data <dir>', 'embedded database folder (default ./.custodian, or CUSTODIAN_DATA); ignored when DATABASE_URL is set'] as const;

program
  .command('serve')
  .description('start the FHIR API and web workbench')
  .option('--port <port>', 'port to listen on', '8080')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option(...dataOption)
  .option('--demo', 'load the demo dataset on first start')
  .option('--strict', 'reject writes that break an invariant instead of storing them with a warning')
  .option('--mpi-config <file>', 'matcher configuration (JSON) for $match, duplicate review and the demo run (or CUSTODIAN_MPI_CONFIG)')
  .action(async (opts) => {
    await serveCommand(opts);
  });

program
  .command('import')
  .description('import FHIR Bundle JSON and NDJSON files (or folders of them); each file is one transaction')
  .argument('<paths...>', 'files or folders')
  .option(...dataOption)
  .option('--json', 'print a JSON summary')
  .option('--strict', 'reject resources that break an invariant')
  .option('--verbose', 'print a line as each file commits (instead of the progress bar)')
  .option(
    '--defer-indexes <when>',
    'auto | always | never: set the search indexes aside during the load and build them again at its end ' +
      '(auto: when the files hold about 5,000 resources or more and at least twice what the store holds; searches meanwhile give the same answers, more slowly)',
    'auto',
  )
  .action(async (paths: string[], opts) => {
    process.exitCode = await importCommand(paths, opts);
  });

program
  .command('export')
  .description('export current resources as NDJSON, one file per resource type')
  .requiredOption('--out <dir>', 'output folder')
  .option('--type <types>', 'comma-separated resource types')
  .option(...dataOption)
  .option('--json', 'print a JSON summary')
  .action(async (opts) => {
    process.exitCode = await exportCommand(opts);
  });

program
  .command('reindex')
  .description('rebuild the search index rows of every current resource (after an upgrade that indexes more)')
  .option(...dataOption)
  .option('--json', 'print a JSON summary')
  .action(async (opts) => {
    process.exitCode = await reindexCommand(opts);
  });

registerMpiCommands(program);

registerCheckCommands(program);

registerTerminologyCommands(program);

registerSecurityCommands(program);

program.parseAsync(process.argv).catch((err) => {
  printError(err);
  process.exitCode = 1;
});
