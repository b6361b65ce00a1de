// `node bench/validation.mjs`: what validating the options costs per setKeepAlive, as the
// library does it and as it would by the slower ways it avoids. Rows run interleaved,
// round after round; each figure is the median of its rounds (ns of elapsed time per
// call, on one core, nothing else running in this process).
//   - validateInto, the library's validation of one setKeepAlive's options;
//   - the five values read by names taken from the option table (what a loop over the
//     table does: a keyed access whose name varies, megamorphic), against the same five
//     read with the keys a for...in enumerates (how validateInto reads them);
//   - `instanceof net.Socket` with the class read from the node:net module object at each
//     use (TypeScript's CommonJS output for an import), and read once into a constant.
import { createRequire } from 'node:module';
import net from 'node:net';

const require = createRequire(import.meta.url);
const ROUNDS = 21;
const CALLS = 500_000;

const { ValidatedOptions, OPTION_TABLE, validateInto } = require('../dist/options.js');
const options = [
  { enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 9000 },
  { enable: true, idle: 6000, interval: 3000, count: 4, userTimeout: 9001 },
];
const into = new ValidatedOptions();
const names = OPTION_TABLE.map(({ name }) => name);
const SocketOnce = net.Socket;
const socket = new net.Socket();
let sink = 0;

const rows = {
  'nothing (the loop and the call)': () => {
    sink++;
  },
  validateInto: (i) => validateInto(options[i & 1], into),
  'five reads by names taken from the table': (i) => {
    const object = options[i & 1];
    for (let index = 0; index < names.length; index++) sink += object[names[index]];
  },
  'five reads with the keys of a for...in': (i) => {
    const object = options[i & 1];
    for (const key in object) if (key !== 'enable') sink += object[key];
  },
  'instanceof, class read from the module each time': () => {
    if (socket instanceof net.Socket) sink++;
  },
  'instanceof, class read once': () => {
    if (socket instanceof SocketOnce) sink++;
  },
};

const samples = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
const time = (fn) => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / CALLS;
};
for (const fn of Object.values(rows)) time(fn); // warm-up: every row optimized before the rounds
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(rows)) samples[name].push(time(fn));
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const empty = median(samples['nothing (the loop and the call)']);
console.log(
  `validation and class checks: ns per call (median of ${ROUNDS} rounds of ${CALLS.toLocaleString('en')}), and over an empty call`,
);
for (const [name, values] of Object.entries(samples)) {
  const ns = median(values);
  console.log(`  ${name.padEnd(52)} ${ns.toFixed(1).padStart(6)} ns  +${(ns - empty).toFixed(1).padStart(5)} ns`);
}
if (sink < 0) console.log(sink);
