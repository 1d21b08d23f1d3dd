import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

/**
 * A step worker in a process of its own, run from the sources (`worker-main.ts`), so a test can
 * signal it; ready once it says so.
 */
export class SourceWorker {
  log = '';
  #stdout = '';

  private constructor(readonly child: ChildProcess) {}

  static async start(redis: string, root: string, stateDir: string, concurrency = 2): Promise<SourceWorker> {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, redis, root, stateDir, String(concurrency)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new SourceWorker(child);
    child.stderr?.on('data', (chunk: Buffer) => (worker.log += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`worker exited with ${String(code)} before it was ready: ${worker.log}`));
      child.once('exit', onExit);
      child.stdout?.on('data', (chunk: Buffer) => {
        worker.#stdout += chunk.toString();
        if (/^ready \S+\n/m.test(worker.#stdout)) {
          child.off('exit', onExit);
          resolve();
        }
      });
    });
    return worker;
  }

  /** The worker's id, as steps see it in ORCHESTRATOR_WORKER_ID. */
  get id(): string {
    return /^ready (\S+)$/m.exec(this.#stdout)?.[1] ?? '';
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Sends `signal` and resolves with the exit code once the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill(signal);
    return exited;
  }
}
