import net from 'node:net';
import path from 'node:path';

interface Waiter {
  resolve: (name: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The test's end of `wait-for-signal.js`: each fixture process connects to this Unix socket, says
 * `started <name>`, and exits only when `release(name, code)` tells it to. Tests order things with
 * it instead of sleeping (wireit's `newCommand()` → `nextInvocation()` → `exit(1)`).
 */
export class ControlServer {
  readonly socketPath: string;
  readonly #server: net.Server;
  readonly #sockets = new Map<string, net.Socket>();
  readonly #unclaimed: string[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #started: string[] = [];

  private constructor(server: net.Server, socketPath: string) {
    this.#server = server;
    this.socketPath = socketPath;
  }

  /** Listens on `<dir>/control.sock`. Pass the path to fixtures as `CONTROL_SOCKET`. */
  static async start(dir: string): Promise<ControlServer> {
    const socketPath = path.join(dir, 'control.sock');
    const server = net.createServer();
    const control = new ControlServer(server, socketPath);
    server.on('connection', (socket) => control.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return control;
  }

  /** Every name that has said `started`, in order. */
  get started(): readonly string[] {
    return this.#started;
  }

  /** Resolves with the name of the next fixture to start (one not returned before). */
  nextStarted(timeoutMs = 10_000): Promise<string> {
    const name = this.#unclaimed.shift();
    if (name !== undefined) return Promise.resolve(name);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(new Error(`No fixture started within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Tells the fixture called `name` to exit with `exitCode`. */
  release(name: string, exitCode = 0): void {
    const socket = this.#sockets.get(name);
    if (!socket) throw new Error(`Fixture "${name}" has not started`);
    socket.write(`exit ${exitCode}\n`);
  }

  async close(): Promise<void> {
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('Control server closed'));
    }
    for (const socket of this.#sockets.values()) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    // A killed fixture resets its connection; that is expected, not an error of the test.
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (data: string) => {
      buffer += data;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const match = /^started (.*)$/.exec(line);
        if (match) this.#onStarted(match[1] ?? '', socket);
      }
    });
  }

  #onStarted(name: string, socket: net.Socket): void {
    this.#sockets.set(name, socket);
    this.#started.push(name);
    const waiter = this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(name);
    } else {
      this.#unclaimed.push(name);
    }
  }
}
