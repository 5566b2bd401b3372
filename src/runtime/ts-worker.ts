/**
 * A worker thread that runs one of our TypeScript modules: the sources run through tsx (as
 * bin/custodian.js runs them), and a worker starts without the parent's loader, so it registers
 * tsx before it imports the module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function tsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}
