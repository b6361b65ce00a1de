import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { getKeepAlive, KEEPALIVE_LIMITS, type KeepAliveOptions, setKeepAlive } from '../helpers/library.js';
import { fdOf, useConnectedSocket } from '../helpers/sockets.js';

// Every option set on a connected socket is read back from the kernel with getsockopt,
// on IPv4 and IPv6 loopback, through the socket and through its raw fd.
describe.each(['127.0.0.1', '::1'])('read-back on %s', (host) => {
  const connection = useConnectedSocket(host);

  const cases: [string, KeepAliveOptions, Partial<Record<keyof KeepAliveOptions, number | boolean>>][] = [
    ['idle minimum', { idle: 1000 }, { enable: true, idle: 1000 }],
    ['idle maximum', { idle: 32_767_000 }, { idle: 32_767_000 }],
    ['interval minimum', { interval: 1000 }, { interval: 1000 }],
    ['interval maximum', { interval: 32_767_000 }, { interval: 32_767_000 }],
    ['count minimum', { count: 1 }, { count: 1 }],
    ['count maximum', { count: 127 }, { count: 127 }],
    ['userTimeout zero', { userTimeout: 0 }, { userTimeout: 0 }],
    ['userTimeout maximum', { userTimeout: 2_147_483_647 }, { userTimeout: 2_147_483_647 }],
    ['userTimeout odd ms', { userTimeout: 2_345 }, { userTimeout: 2_345 }],
    ['enable false', { enable: false }, { enable: false }],
    [
      'all together',
      { enable: true, idle: 7000, interval: 3000, count: 4, userTimeout: 9500 },
      { enable: true, idle: 7000, interval: 3000, count: 4, userTimeout: 9500 },
    ],
  ];
  test.each(cases)('%s', (_name, options, expected) => {
    expect(setKeepAlive(connection.socket, options)).toBe(connection.socket);
    expect(getKeepAlive(connection.socket)).toMatchObject(expected);
    expect(getKeepAlive(fdOf(connection.socket))).toEqual(getKeepAlive(connection.socket));
  });

  test('fields left out are not touched', () => {
    setKeepAlive(connection.socket, { enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 4000 });
    setKeepAlive(connection.socket, { count: 8 });
    expect(getKeepAlive(connection.socket)).toEqual({
      enable: true,
      idle: 5000,
      interval: 2000,
      count: 8,
      userTimeout: 4000,
    });
    setKeepAlive(connection.socket, { enable: false });
    expect(getKeepAlive(connection.socket)).toEqual({
      enable: false,
      idle: 5000,
      interval: 2000,
      count: 8,
      userTimeout: 4000,
    });
    setKeepAlive(connection.socket, {});
    expect(getKeepAlive(connection.socket)).toEqual({
      enable: false,
      idle: 5000,
      interval: 2000,
      count: 8,
      userTimeout: 4000,
    });
  });

  test('a raw fd number is tuned like its socket', () => {
    setKeepAlive(fdOf(connection.socket), { idle: 11_000, interval: 6000, count: 2, userTimeout: 1 });
    expect(getKeepAlive(connection.socket)).toEqual({
      enable: true,
      idle: 11_000,
      interval: 6000,
      count: 2,
      userTimeout: 1,
    });
  });
});

describe('validation: all or nothing, no truncation', () => {
  const connection = useConnectedSocket();
  const before = { enable: true, idle: 6000, interval: 2000, count: 5, userTimeout: 3333 };

  const outOfRange: [string, unknown, RegExp][] = [
    [
      'idle',
      999,
      /"options\.idle" is out of range\. It must be .*multiple of 1000.* >= 1000 && <= 32767000\. Received 999$/,
    ],
    ['idle', 32_768_000, /Received 32768000$/],
    ['idle', 1500, /multiple of 1000.*Received 1500$/],
    ['idle', 0, /Received 0$/],
    ['idle', -1000, /Received -1000$/],
    ['idle', Number.NaN, /Received NaN$/],
    ['idle', Number.POSITIVE_INFINITY, /Received Infinity$/],
    ['interval', 999, /"options\.interval" is out of range.*Received 999$/],
    ['interval', 32_768_000, /Received 32768000$/],
    ['interval', 1000.5, /Received 1000\.5$/],
    ['count', 0, /"options\.count" is out of range\. It must be an integer >= 1 && <= 127\. Received 0$/],
    ['count', 128, /Received 128$/],
    ['count', 2.5, /Received 2\.5$/],
    [
      'userTimeout',
      -1,
      /"options\.userTimeout" is out of range\. It must be an integer >= 0 && <= 2147483647\. Received -1$/,
    ],
    ['userTimeout', 2_147_483_648, /Received 2147483648$/],
    ['userTimeout', 0.5, /Received 0\.5$/],
  ];
  test.each(outOfRange)('%s = %s throws ERR_OUT_OF_RANGE and changes nothing', (name, value, message) => {
    setKeepAlive(connection.socket, before);
    // A valid field next to the bad one proves nothing was applied before validation failed.
    const options = { idle: 9000, count: 2, [name]: value };
    const thrown = captureError(() => setKeepAlive(connection.socket, options as KeepAliveOptions));
    expect(thrown).toBeInstanceOf(RangeError);
    expect(thrown).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown.message).toMatch(message);
    expect(getKeepAlive(connection.socket)).toEqual(before);
  });

  const wrongType: [string, unknown, string][] = [
    ['options', null, 'The "options" argument must be of type object. Received null'],
    ['options', 5000, 'The "options" argument must be of type object. Received type number (5000)'],
    ['options', [1000], 'The "options" argument must be of type object. Received an instance of Array'],
    ['options.idle', '5000', `The "options.idle" property must be of type number. Received type string ('5000')`],
    ['options.count', 3n, 'The "options.count" property must be of type number. Received type bigint (3n)'],
    ['options.userTimeout', null, 'The "options.userTimeout" property must be of type number. Received null'],
    ['options.enable', 1, 'The "options.enable" property must be of type boolean. Received type number (1)'],
    ['options.idel', 5000, 'unknown property "idel"'],
  ];
  test.each(wrongType)('%s = %s throws ERR_INVALID_ARG_TYPE and changes nothing', (path, value, message) => {
    setKeepAlive(connection.socket, before);
    const key = path.split('.')[1];
    const options = key === undefined ? value : { interval: 9000, [key]: value };
    const thrown = captureError(() => setKeepAlive(connection.socket, options as KeepAliveOptions));
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown.message).toContain(message);
    expect(getKeepAlive(connection.socket)).toEqual(before);
  });

  test('undefined fields count as left out', () => {
    setKeepAlive(connection.socket, before);
    setKeepAlive(connection.socket, { idle: undefined, count: 7 });
    expect(getKeepAlive(connection.socket)).toEqual({ ...before, count: 7 });
  });

  // Validation reads an object's own keys in one pass when it can, and field by field
  // otherwise: the result must not depend on how the object is written.
  test('options are read the same in any key order, through getters and from a prototype', () => {
    const wanted = { enable: true, idle: 7000, interval: 3000, count: 4, userTimeout: 4444 };
    const written: [string, object][] = [
      ['reversed', { userTimeout: 4444, count: 4, interval: 3000, idle: 7000, enable: true }],
      ['shuffled', { count: 4, enable: true, idle: 7000, userTimeout: 4444, interval: 3000 }],
      [
        'getters of a class (not enumerable)',
        new (class {
          get idle() {
            return 7000;
          }
          get interval() {
            return 3000;
          }
          count = 4;
          get userTimeout() {
            return 4444;
          }
        })(),
      ],
      [
        'a prototype with the options, and a key of its own that is not one',
        Object.assign(Object.create({ idle: 7000, interval: 3000, count: 4, userTimeout: 4444 }), { enable: true }),
      ],
      [
        'a non-enumerable option',
        Object.defineProperty({ idle: 7000, count: 4, userTimeout: 4444 }, 'interval', { value: 3000 }),
      ],
    ];
    for (const [how, options] of written) {
      setKeepAlive(connection.socket, before);
      setKeepAlive(connection.socket, options as KeepAliveOptions);
      expect(getKeepAlive(connection.socket), how).toEqual(wanted);
    }
    const inherited = Object.assign(Object.create({ unrelated: 1 }), { idle: 7000 });
    setKeepAlive(connection.socket, before);
    setKeepAlive(connection.socket, inherited);
    expect(getKeepAlive(connection.socket), 'an unknown key on the prototype is ignored').toEqual({
      ...before,
      idle: 7000,
    });
  });

  test('with several bad fields the error names the same one in any key order', () => {
    const cases: [object, string][] = [
      [{ idle: 1500, idel: 5000 }, 'unknown property "idel"'],
      [{ idel: 5000, idle: 1500 }, 'unknown property "idel"'],
      [{ enable: 1, idle: 1500 }, '"options.enable"'],
      [{ idle: 1500, enable: 1 }, '"options.enable"'],
      [{ count: 999, idle: 1500 }, '"options.idle"'],
      [{ idle: 1500, count: 999 }, '"options.idle"'],
      [{ userTimeout: 'x', interval: 1 }, '"options.interval"'],
    ];
    for (const [options, named] of cases) {
      setKeepAlive(connection.socket, before);
      const thrown = captureError(() => setKeepAlive(connection.socket, options as KeepAliveOptions));
      expect(thrown.message, JSON.stringify(options)).toContain(named);
      expect(getKeepAlive(connection.socket)).toEqual(before);
    }
  });

  test('KEEPALIVE_LIMITS states the accepted ranges', () => {
    expect(KEEPALIVE_LIMITS).toEqual({
      idle: { min: 1000, max: 32_767_000, step: 1000 },
      interval: { min: 1000, max: 32_767_000, step: 1000 },
      count: { min: 1, max: 127, step: 1 },
      userTimeout: { min: 0, max: 2_147_483_647, step: 1 },
    });
    expect(Object.isFrozen(KEEPALIVE_LIMITS.idle)).toBe(true);
  });
});

describe('a getter of the options that calls setKeepAlive itself', () => {
  const outer = useConnectedSocket();
  const inner = useConnectedSocket();

  test('each call applies its own options: the inner call does not overwrite the outer one', () => {
    const options = {
      idle: 5000,
      get interval() {
        setKeepAlive(inner.socket, { count: 7 });
        return 2000;
      },
      userTimeout: 9000,
    };
    setKeepAlive(outer.socket, options);
    expect(getKeepAlive(outer.socket)).toMatchObject({ enable: true, idle: 5000, interval: 2000, userTimeout: 9000 });
    expect(getKeepAlive(outer.socket).count).not.toBe(7);
    expect(getKeepAlive(inner.socket)).toMatchObject({ enable: true, count: 7 });
  });
});
