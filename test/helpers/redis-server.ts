import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
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

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** A test CA and a server certificate for 127.0.0.1 and localhost, made with openssl in `dir`. */
export function makeTlsFiles(dir: string): TlsFiles {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=orchestrator-test-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf']);
  return { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), ca: path.join(dir, 'ca.crt') };
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
    readonly tls: TlsFiles | undefined,
  ) {}

  /** With `tls`, the server speaks only TLS (rediss://) and is probed on a plain port of its own. */
  static async start(options: { password?: string; tls?: TlsFiles } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.password, options.tls);
    server.#probePort = options.tls ? await freePort() : server.port;
    await server.start();
    return server;
  }

  #probePort = 0;

  get url(): string {
    const auth = this.password ? `:${this.password}@` : '';
    return `${this.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = this.tls
      ? ['--port', String(this.#probePort), '--tls-port', String(this.port), '--tls-cert-file', this.tls.cert, '--tls-key-file', this.tls.key, '--tls-ca-cert-file', this.tls.ca, '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    args.push('--bind', '127.0.0.1', '--save', '', '--appendonly', 'no');
    if (this.password) args.push('--requirepass', this.password);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await ask(this.#probePort, 'PING', this.password)) === '+PONG') return;
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
