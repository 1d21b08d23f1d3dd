import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound once and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Sends one inline command and resolves with the first reply line, or rejects. */
function ask(port: number, command: string, password?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const lines = data.split('\r\n');
      const wanted = password ? 2 : 1;
      if (lines.length > wanted) {
        socket.destroy();
        resolve(lines[wanted - 1] as string);
      }
    });
    socket.write(`${password ? `AUTH ${password}\r\n` : ''}${command}\r\n`);
  });
}

/**
 * A private redis-server on a free loopback port, with no persistence, that a test can stop,
 * kill and start again (same port) for fault tests.
 */
export class RedisServer {
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly password: string | undefined,
  ) {}

  static async start(options: { password?: string } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.password);
    await server.start();
    return server;
  }

  get url(): string {
    return this.password ? `redis://:${this.password}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.password) args.push('--requirepass', this.password);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await ask(this.port, 'PING', this.password)) === '+PONG') return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops the server at once (SIGKILL: nothing is saved, as after a crash). */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
