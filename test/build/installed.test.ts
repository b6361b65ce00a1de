import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createHosts, cutLink, destroyHosts, missingRequirements, SERVER_ADDRESS } from '../../demo/lab/netns.js';
import { bareBin, installInto, packWorkingTree } from '../helpers/packed.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { finished, type RunResult, run as runProgram } from '../helpers/run.js';
import { bunBinary, denoBinary } from '../helpers/runtimes.js';
import { nestedEnv, root } from '../helpers/tree.js';

// The packed package as a new user meets it: installed into a new application with no
// compiler on PATH, its command-line tool run from node_modules/.bin, its README
// followed word for word, its type declarations compiled by three kinds of TypeScript
// project.
let work: string;
let app: string;
let tarball: string;
let env: NodeJS.ProcessEnv;
let bin: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-installed-'));
  ({ tarball } = packWorkingTree(work));
  env = nestedEnv({ PATH: bareBin(work) });
  app = path.join(work, 'app');
  const install = installInto(app, tarball, env);
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.output}`);
  bin = path.join(app, 'node_modules', '.bin', 'socket-keepalive');
  fs.writeFileSync(path.join(app, 'app.js'), APP);
  // The same application as an ES module, the form Deno runs a .js file of a package without "type" in.
  fs.writeFileSync(
    path.join(app, 'app.mjs'),
    APP.replace("const net = require('node:net');", "import net from 'node:net';").replace(
      "const { getKeepAlive } = require('socket-keepalive');",
      "import { getKeepAlive } from 'socket-keepalive';",
    ),
  );
}, 180_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/**
 * An application that does not configure keepalive: it connects to a server of its own
 * and prints what the kernel has on the client socket.
 */
const APP = `const net = require('node:net');
const { getKeepAlive } = require('socket-keepalive');
const server = net.createServer((socket) => socket.end()).listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    console.log(JSON.stringify(getKeepAlive(socket)));
    socket.destroy();
    server.close();
  });
});
`;

/** `socket-keepalive <args>` from the application's node_modules/.bin. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
  return runProgram(bin, args, { cwd: app, env: { ...env, ...extraEnv } });
}

function spawnCli(args: string[]): ChildProcess {
  return spawn(bin, args, { cwd: app, env });
}

/** The JSON lines a running command prints, as they come. */
function jsonLines(child: ChildProcess): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  readline
    .createInterface({ input: child.stdout as NodeJS.ReadableStream })
    .on('line', (line) => lines.push(JSON.parse(line)));
  return lines;
}

/** Starts `socket-keepalive server --json` with `args` and resolves with it and its port once it listens. */
async function startServer(
  args: string[] = [],
): Promise<{ server: ChildProcess; port: number; events: Record<string, unknown>[] }> {
  const server = spawnCli(['server', '--port', '0', '--json', ...args]);
  const events = jsonLines(server);
  await vi.waitFor(() => expect(events.find((event) => event.event === 'listening')).toBeDefined(), {
    timeout: 10_000,
  });
  return { server, port: events[0].port as number, events };
}

describe('times are read as SOCKET_KEEPALIVE reads them, errors name the flag and the range', () => {
  test('server --idle 10s --interval 2s --user-timeout 1500ms: the listener has them', async () => {
    const { server, events } = await startServer([
      '--idle',
      '10s',
      '--interval',
      '2s',
      '--count',
      '3',
      '--user-timeout',
      '1500ms',
    ]);
    server.kill();
    expect(events[0]).toMatchObject({
      keepalive: { enable: true, idle: 10_000, interval: 2000, count: 3, userTimeout: 1500 },
    });
  });

  test.each([
    [
      ['server', '--idle', '1500ms'],
      '--idle must be from 1s to 32767s in whole seconds (1000 to 32767000 ms), got "1500ms"',
    ],
    [['server', '--user-timeout', '8'], '--user-timeout needs a unit: write 8s or 8ms'],
    [['server', '--idle', '10x'], '--idle must be a time such as 10s, 1500ms or 2m, got "10x"'],
    [['server', '--user-timeout', '-1'], '--user-timeout must be from 0 to 2147483647 ms, got "-1"'],
    [
      ['client', '--interval', '40000s'],
      '--interval must be from 1s to 32767s in whole seconds (1000 to 32767000 ms), got "40000s"',
    ],
    [
      ['run', '--user-timout', '1000', '--', 'node', '-e', '1'],
      'unknown option --user-timout; did you mean --user-timeout?',
    ],
    [['server', '--jsn'], 'unknown option --jsn; did you mean --json?'],
    [['inspect', 'abc'], 'the pid must be a whole number from 1 to 2147483647, got "abc"'],
  ])('%j: exit code 2 and one plain line', async (args, message) => {
    const { code, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stderr).toBe(
      `socket-keepalive ${args[0]}: ${message}\nRun "socket-keepalive ${args[0]} --help" for usage.\n`,
    );
  });

  test('run --idle 10s: the banner writes the setting as SOCKET_KEEPALIVE, and the application has it', async () => {
    const { code, stdout, stderr } = await cli(['run', '--idle', '10s', '--count', '4', '--', 'node', 'app.js']);
    expect(code).toBe(0);
    expect(stderr).toBe(
      'socket-keepalive run: SOCKET_KEEPALIVE=idle=10s,interval=2s,count=4,userTimeout=20s node app.js\n',
    );
    expect(JSON.parse(stdout)).toEqual({ enable: true, idle: 10_000, interval: 2000, count: 4, userTimeout: 20_000 });
  });
});

describe('client', () => {
  test('--mode library,node --idle 2s opens two sockets, the idle going to the library one; Ctrl-C is not the peer closing', async () => {
    const { server, port } = await startServer();
    try {
      const client = spawnCli([
        'client',
        '--port',
        String(port),
        '--mode',
        'library,node',
        '--idle',
        '2s',
        '--node-delay',
        '3s',
      ]);
      const output = finished(client);
      let seen = '';
      client.stdout?.on('data', (chunk) => (seen += chunk));
      await vi.waitFor(() => expect(seen.match(/^#\d /gm)?.length).toBe(2), { timeout: 10_000 });
      client.kill('SIGINT');
      const { code, stdout } = await output;
      expect(code).toBe(0);
      expect(stdout).toMatch(/^#1 +library +on +2s\/75s\/x9 /m);
      expect(stdout).toMatch(/^#2 +node +on +3s\/1s\/x10 /m);
      expect(stdout).toMatch(/^#1 closed: stopped here, /m);
      expect(stdout).not.toMatch(/by peer/);
    } finally {
      server.kill();
    }
  });
});

describe('small ones', () => {
  test('--version prints the package version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  test('server --host ::1 writes the address in brackets', async (context) => {
    const probe = net.createServer().listen(0, '::1');
    const ipv6 = await new Promise<boolean>((resolve) =>
      probe.once('listening', () => resolve(true)).once('error', () => resolve(false)),
    );
    probe.close();
    if (skipWithout('the IPv6 address test', ipv6 ? [] : ['an IPv6 loopback address (::1)'])) context.skip();
    const server = spawnCli(['server', '--host', '::1', '--port', '0']);
    let stdout = '';
    server.stdout?.on('data', (chunk) => (stdout += chunk));
    await vi.waitFor(() => expect(stdout).toMatch(/^listening on \[::1\]:\d+ /), { timeout: 10_000 });
    server.kill();
  });

  test('inspect: the last column is headed and its mark explained; --watch into a pipe writes no terminal codes', async () => {
    const target = spawn(process.execPath, [
      '-e',
      "require('net').createServer().listen(0, '127.0.0.1', () => console.log('up'))",
    ]);
    try {
      await new Promise((resolve) => target.stdout.once('data', resolve));
      const once = await cli(['inspect', String(target.pid)]);
      expect(once.code).toBe(0);
      expect(once.stdout).toMatch(/ detect in flight +slowest\n/);
      const watch = spawnCli(['inspect', String(target.pid), '--watch']);
      let piped = '';
      watch.stdout?.on('data', (chunk) => (piped += chunk));
      await vi.waitFor(() => expect(piped.match(/^process \d+ at /gm)?.length).toBeGreaterThanOrEqual(2), {
        timeout: 10_000,
      });
      watch.kill('SIGINT');
      await finished(watch);
      expect(piped).not.toContain('\x1b');
    } finally {
      target.kill();
    }
    // With a connection, the slowest one is marked, and the mark is explained under the table.
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const { stdout } = await cli(['inspect', String(process.pid)]);
    socket.destroy();
    server.close();
    expect(stdout).toMatch(/ <\n/);
    expect(stdout).toContain(
      '\n< slowest: of the connections, the slowest to notice a dead peer on an idle connection\n',
    );
  });

  test('killing `npx socket-keepalive run` leaves the application running, as the README says; killing the bin does not', async () => {
    const sleeper =
      "require('node:fs').writeFileSync(process.argv[1], String(process.pid)); setTimeout(() => {}, 60000)";
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const outcome = async (command: string, args: string[]) => {
      const pidFile = path.join(work, `pid-${command.replace(/\W/g, '')}`);
      const child = spawn(command, [...args, 'run', '--quiet', '--', 'node', '-e', sleeper, pidFile], {
        cwd: app,
        env,
      });
      await vi.waitFor(() => expect(fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8')).toBeTruthy(), {
        timeout: 20_000,
      });
      const appPid = Number(fs.readFileSync(pidFile, 'utf8'));
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const survived = alive(appPid);
      if (survived) process.kill(appPid, 'SIGKILL');
      return survived;
    };
    expect(await outcome('npx', ['socket-keepalive'])).toBe(true);
    expect(await outcome(bin, [])).toBe(false);
  }, 60_000);
});

describe('lab from the installed package', () => {
  const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...missingTools('ip', 'iptables', 'tcpdump')];
  test.skipIf(skipWithout('the installed lab test', missing))(
    '--json: the results alone on stdout, progress on stderr, the pg and ioredis rows not run and how to get them',
    async () => {
      const { code, stdout, stderr } = await cli(['lab', '--json', '--no-old-node', '--window', '5s'], {
        PATH: `${env.PATH}:${process.env.PATH}`,
      });
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as { rows: { id: string; outcome: string; note: string | null }[] };
      expect(report.rows.find((row) => row.id === 'pg-preload')).toMatchObject({
        outcome: 'unavailable',
        note: 'pg and ioredis cannot be loaded',
      });
      expect(stderr).toContain(
        'note: the pg and ioredis rows are left out: pg and ioredis cannot be loaded; to run them, "npm install pg ioredis"',
      );
      expect(stderr).toMatch(/cutting port 7654 now/);
      expect(stderr).toMatch(/after the cut: .* closed with ETIMEDOUT/);
    },
    90_000,
  );
});

describe('README links resolve inside the package', () => {
  test('every relative link and image of the README names a file in the tarball, and no image needs the repository', () => {
    const files = new Set(
      execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
        .split('\n')
        .map((file) => file.replace(/^package\//, '')),
    );
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/(!?)\[[^\]]*\]\(([^)\s]+)\)/g)].map(([, image, target]) => ({
      image: image === '!',
      target,
    }));
    const relative = links.filter(({ target }) => !/^[a-z]+:/.test(target) && !target.startsWith('#'));
    expect(relative.length).toBeGreaterThan(5);
    for (const { target } of relative) expect(files, target).toContain(target.split('#')[0]);
    // An image by relative path does not render on the npm page, which has no repository to resolve it against.
    expect(relative.filter(({ image }) => image)).toEqual([]);
  });
});

/** The README's fenced blocks in order: the language after the fence, the body, and the paragraph that follows. */
const README_BLOCKS = [
  ...fs.readFileSync(path.join(root, 'README.md'), 'utf8').matchAll(/^```(\w*)\n([\s\S]*?)^```\n\n?([^\n]*)/gm),
].map(([, language, body, after]) => ({ language, body, after }));

/** The README's quick example: the TypeScript block the README says to save as example.mts. */
const QUICK_EXAMPLE = (() => {
  const block = README_BLOCKS.find(({ language, after }) => language === 'ts' && after.includes('`example.mts`'));
  if (!block) throw new Error('the README has no TypeScript block followed by "Saved as `example.mts`"');
  return block.body;
})();

describe("the README's anchors", () => {
  /** The anchors GitHub and npm give a Markdown file's headings: lower case, punctuation dropped, spaces as "-". */
  const anchorsOf = (file: string) =>
    new Set(
      [...fs.readFileSync(path.join(root, file), 'utf8').matchAll(/^#+ (.*)$/gm)].map(([, title]) =>
        title
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replaceAll(' ', '-'),
      ),
    );

  test('every link with an anchor, from the README and into it from docs/, names a heading that exists', () => {
    const links: { from: string; file: string; anchor: string }[] = [];
    for (const from of [
      'README.md',
      ...fs
        .readdirSync(path.join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ]) {
      const text = fs.readFileSync(path.join(root, from), 'utf8');
      for (const [, target, anchor] of text.matchAll(/\]\(([^)\s#]*\.md|)#([\w-]+)\)/g)) {
        const file = target === '' ? from : path.normalize(path.join(path.dirname(from), target));
        // From docs/, only the links into the README: the README is what this file follows.
        if (from === 'README.md' || file === 'README.md') links.push({ from, file, anchor });
      }
    }
    expect(links.length).toBeGreaterThan(5);
    const missing = links.filter(({ file, anchor }) => !anchorsOf(file).has(anchor));
    expect(missing).toEqual([]);
  });
});

describe('type declarations', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const PROJECTS = {
    commonjs: {
      module: 'commonjs',
      moduleResolution: 'node',
      file: 'index.ts',
      code: "import { setKeepAlive } from 'socket-keepalive';",
    },
    node16: {
      module: 'node16',
      moduleResolution: 'node16',
      file: 'index.mts',
      code: "import { setKeepAlive } from 'socket-keepalive';",
    },
    bundler: {
      module: 'esnext',
      moduleResolution: 'bundler',
      file: 'index.ts',
      code: "import { setKeepAlive } from 'socket-keepalive';",
    },
  };

  test.each(Object.entries(PROJECTS))(
    "a %s project (no esModuleInterop, no skipLibCheck) compiles the README's quick example, and refuses setKeepAlive({ hello: 1 })",
    (name, project) => {
      const directory = path.join(work, `types-${name}`);
      fs.mkdirSync(path.join(directory, 'node_modules', '@types'), { recursive: true });
      fs.symlinkSync(
        path.join(app, 'node_modules', 'socket-keepalive'),
        path.join(directory, 'node_modules', 'socket-keepalive'),
      );
      fs.symlinkSync(
        path.join(root, 'node_modules', '@types', 'node'),
        path.join(directory, 'node_modules', '@types', 'node'),
      );
      fs.writeFileSync(path.join(directory, 'package.json'), '{"name":"types","private":true}');
      const example = project.file.replace('index', 'example');
      const compilerOptions = {
        module: project.module,
        moduleResolution: project.moduleResolution,
        target: 'es2022',
        strict: true,
        noEmit: true,
        types: ['node'],
      };
      fs.writeFileSync(
        path.join(directory, 'tsconfig.json'),
        JSON.stringify({ compilerOptions, files: [project.file, example] }),
      );
      fs.writeFileSync(path.join(directory, example), QUICK_EXAMPLE);
      fs.writeFileSync(
        path.join(directory, project.file),
        `${project.code}\nimport * as net from 'node:net';\n` +
          "setKeepAlive(net.connect(80, 'localhost'), { idle: 10_000 });\nsetKeepAlive({ hello: 1 }, { idle: 10_000 });\n",
      );
      // One compile (each takes seconds): the example and the first call are fine, the second the only error.
      let errors = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', '.'], {
          cwd: directory,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        errors = (error as { stdout: string }).stdout;
      }
      expect(errors.trim().split('\n')).toEqual([
        expect.stringMatching(/^index\.m?ts\(4,\d+\): error TS\d+: .*'hello'/),
      ]);
    },
  );
});

describe('the README, top to bottom, as a newcomer follows it', () => {
  const shell = (script: string, cwd = app) => runProgram('sh', ['-c', script], { cwd, env });
  const DEFAULTS = { enable: true, idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };

  test('every shell command and every TypeScript example, in the order the README shows them', async () => {
    const ran: string[] = [];
    /** The TypeScript examples met so far, each saved where the README says (or by its index), and what its comments show. */
    const examples: { file: string; shown: string[] }[] = [];
    for (const [index, { language, body, after }] of README_BLOCKS.entries()) {
      if (language === 'ts') {
        const file = after.includes('`example.mts`') ? 'example.mts' : `readme-example-${index}.mts`;
        fs.writeFileSync(path.join(app, file), body);
        // A comment that shows a value ("// { idle: 16000, ... }") is printed (console.log may break it over lines).
        examples.push({ file, shown: [...body.matchAll(/^\s*\/\/ (\{.*\})/gm)].map(([, value]) => value) });
        continue;
      }
      if (language !== 'sh') continue;
      const block = body.trim();
      if (block.split('\n').every((line) => /^[A-Z_]+=/.test(line))) {
        // The variables of a deployment: /app stands for wherever the application is.
        const script = `${block.replaceAll('/app/', `${app}/`)}\nexport ${block
          .split('\n')
          .map((line) => line.split('=')[0])
          .join(' ')}\nnode app.js`;
        const { code, stdout, stderr } = await shell(script);
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        expect(JSON.parse(stdout)).toEqual(DEFAULTS);
        ran.push(block);
        continue;
      }
      for (const line of block.split('\n')) {
        const command = line.replace(/\s+#.*$/, '');
        if (command === 'npm install socket-keepalive') {
          // The package under test stands in for the one on the registry.
          const fresh = path.join(work, 'readme-install');
          const install = installInto(fresh, tarball, env);
          expect(install.status, install.output).toBe(0);
          expect((await runProgram('node', ['-e', "require('socket-keepalive')"], { cwd: fresh, env })).code).toBe(0);
        } else if (
          /^\.\/node_modules\/\.bin\/socket-keepalive run -- (bun app\.js|deno run -A app\.mjs)$/.test(command)
        ) {
          // Bun and Deno, from their npm packages, where the README's reader has them: on PATH.
          const runtime = command.includes('-- bun') ? 'bun' : 'deno';
          const binary = path.join(path.dirname(env.PATH as string), 'bin', runtime);
          if (!fs.existsSync(binary)) fs.symlinkSync(runtime === 'bun' ? bunBinary() : denoBinary(), binary);
          const { code, stdout, stderr } = await shell(command);
          expect(code, stderr).toBe(0);
          expect(JSON.parse(stdout)).toMatchObject(DEFAULTS);
        } else if (/^\.\/node_modules\/\.bin\/socket-keepalive run .*-- node app\.js$/.test(command)) {
          const { code, stdout, stderr } = await shell(command);
          expect(code, stderr).toBe(0);
          expect(JSON.parse(stdout)).toMatchObject(DEFAULTS);
        } else if (command === 'npm install --save-dev typescript @types/node') {
          // The TypeScript and Node types the package's own tests use stand in for the registry's.
          for (const name of ['typescript', '@types/node']) {
            fs.mkdirSync(path.dirname(path.join(app, 'node_modules', name)), { recursive: true });
            fs.symlinkSync(path.join(root, 'node_modules', name), path.join(app, 'node_modules', name));
          }
          fs.symlinkSync(path.join('..', 'typescript', 'bin', 'tsc'), path.join(app, 'node_modules', '.bin', 'tsc'));
        } else if (command === 'npx tsc --init') {
          const { code, stderr } = await shell(command);
          expect(code, stderr).toBe(0);
          // What `tsc --init` writes today: every one of these makes a careless example fail.
          const written = fs.readFileSync(path.join(app, 'tsconfig.json'), 'utf8');
          for (const option of ['"strict": true', '"verbatimModuleSyntax": true', '"types": []'])
            expect(written).toContain(option);
        } else if (command === 'npx tsc && node example.mjs') {
          const { code, stdout, stderr } = await shell(command);
          expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
          const example = examples.find(({ file }) => file === 'example.mts');
          expect(example?.shown.length).toBeGreaterThanOrEqual(2);
          for (const value of example?.shown ?? []) expect(stdout.replace(/\s+/g, ' ')).toContain(value);
          // The other examples were compiled by the same `npx tsc`: each runs as it is.
          for (const other of examples.filter(({ file }) => file !== 'example.mts')) {
            const result = await runProgram('node', [other.file.replace(/\.mts$/, '.mjs')], { cwd: app, env });
            expect(result.code, result.stderr).toBe(0);
            for (const value of other.shown) expect(result.stdout.replace(/\s+/g, ' ')).toContain(value);
          }
          ran.push(...examples.map(({ file }) => file));
        } else {
          throw new Error(`a README command this test does not know how to run: ${line}`);
        }
        ran.push(command);
      }
    }
    expect(ran).toContain('./node_modules/.bin/socket-keepalive run -- node app.js');
    expect(ran).toContain('example.mts');
    // Every TypeScript example was compiled and run.
    expect(ran.filter((entry) => entry.endsWith('.mts'))).toHaveLength(examples.length);
    expect(examples.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

describe('what the README shows when a peer dies', () => {
  test.skipIf(skipWithout('the README dead-peer output test', missingRequirements()))(
    "the README's command behind a real cut prints its lines: the same words, times within a second of its own",
    async () => {
      const block = README_BLOCKS.find(({ language, body }) => language === 'text' && body.startsWith('$ '));
      if (!block) throw new Error('the README shows no command output ("$ " block)');
      const [command, ...shown] = block.body.trimEnd().split('\n');
      // The app the README's output comes from, as docs/lab.md records it.
      const lab = fs.readFileSync(path.join(root, 'docs', 'lab.md'), 'utf8');
      const appSource = /^### The README's dead peer\n[\s\S]*?^```js\n([\s\S]*?)^```/m.exec(lab)?.[1];
      expect(appSource).toBeDefined();
      const directory = path.join(work, 'dead-peer-app');
      fs.mkdirSync(directory);
      fs.symlinkSync(path.join(app, 'node_modules'), path.join(directory, 'node_modules'));
      fs.writeFileSync(path.join(directory, 'app.js'), appSource as string);
      const hosts = createHosts();
      const echo = spawn('ip', ['netns', 'exec', hosts.server, process.execPath, '-e', ECHO_SERVER, SERVER_ADDRESS], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise((resolve) => echo.stdout.once('data', resolve));
        const ip = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
        const child = spawn(ip, ['netns', 'exec', hosts.client, 'sh', '-c', command.slice(2)], {
          cwd: directory,
          env: { ...env, DB_HOST: SERVER_ADDRESS },
        });
        const lines: string[] = [];
        for (const stream of [child.stdout, child.stderr])
          readline.createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
        const exited = finished(child);
        await vi.waitFor(() => expect(lines.filter((line) => line.endsWith(' connected'))).toHaveLength(2), {
          timeout: 10_000,
        });
        cutLink(hosts, 7701);
        const { code } = await exited;
        expect(code).toBe(0);
        // Each line the README shows, its times, ports and timestamps as patterns; stdout and stderr may interleave otherwise.
        const times: number[] = [];
        for (const line of shown) {
          const pattern = line
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/:\d{4,5}\\\)/g, ':\\d+\\)')
            .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\\\.\d{3}Z/g, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z')
            .replace(/\d+\\\.\d s/g, '(\\d+\\.\\d) s');
          const match = lines.map((seen) => new RegExp(`^${pattern}$`).exec(seen)).find(Boolean);
          expect(match, `no line like "${line}" in:\n${lines.join('\n')}`).toBeTruthy();
          const [readme, measured] = [new RegExp(`^${pattern}$`).exec(line), match] as RegExpExecArray[];
          for (let index = 1; index < readme.length; index++) {
            expect(Math.abs(Number(measured[index]) - Number(readme[index])), line).toBeLessThanOrEqual(1);
            times.push(Number(measured[index]));
          }
        }
        expect(lines).toHaveLength(shown.length);
        expect(times.length).toBeGreaterThanOrEqual(6);
      } finally {
        echo.kill('SIGKILL');
        destroyHosts(hosts);
      }
    },
    60_000,
  );
});

/** The echo server the README's dead-peer output was measured against: port 7701 on the address given. */
const ECHO_SERVER = `require('node:net').createServer((socket) => {
  socket.on('error', () => {});
  socket.on('data', (data) => socket.write(data));
}).listen(7701, process.argv[1], () => console.log('listening'));`;
