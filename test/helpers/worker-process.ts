import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/bin/orchestrator.cjs', import.meta.url));

/** `orchestrator worker` in its own process (so a test can kill -9 it), ready when it says so. */
export class WorkerProcess {
  log = '';

  private constructor(readonly child: ChildProcess) {}

  static async start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [BIN, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    const worker = new WorkerProcess(child);
    child.stderr?.on('data', (chunk: Buffer) => {
      worker.log += chunk.toString();
    });
    const deadline = Date.now() + 15_000;
    while (!/ worker \S+ on redis/.test(worker.log)) {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${worker.log}`);
      if (Date.now() > deadline) throw new Error(`worker did not start: ${worker.log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return worker;
  }

  /** The worker's id, as steps see it in ORCHESTRATOR_WORKER_ID. */
  get id(): string {
    return / worker (\S+) on redis/.exec(this.log)?.[1] ?? '';
  }

  get pid(): number {
    return this.child.pid as number;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await exited;
  }

  /** Graceful stop (SIGTERM): the worker kills its steps and exits. */
  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }
}
