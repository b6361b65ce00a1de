/**
 * SOCKET_KEEPALIVE values that are refused, with the error code and message parseKeepAliveSetting
 * throws: the table the Node parser is tested with (test/library/keepalive-variable.test.ts) and
 * that the preload library must refuse with the same line (test/native-preload/library.test.ts).
 */
export const REFUSED_SETTINGS: readonly [text: string, code: string, message: RegExp][] = [
  [
    'idle=1500ms',
    'ERR_OUT_OF_RANGE',
    /"SOCKET_KEEPALIVE.idle" is out of range. It must be .*>= 1000 && <= 32767000. Received 1500/,
  ],
  [
    'userTimeout=8',
    'ERR_INVALID_ARG_VALUE',
    /^The argument 'SOCKET_KEEPALIVE.userTimeout' needs a unit: write 8s or 8ms\./,
  ],
  ['idle=10', 'ERR_INVALID_ARG_VALUE', /^The argument 'SOCKET_KEEPALIVE.idle' needs a unit: write 10s or 10ms\./],
  [
    'count=0',
    'ERR_OUT_OF_RANGE',
    /"SOCKET_KEEPALIVE.count" is out of range. It must be an integer >= 1 && <= 127. Received 0/,
  ],
  [
    'userTimeout=1000h',
    'ERR_OUT_OF_RANGE',
    /"SOCKET_KEEPALIVE.userTimeout" is out of range. It must be an integer >= 0 && <= 2147483647/,
  ],
  [
    'idle=10x',
    'ERR_INVALID_ARG_VALUE',
    /'SOCKET_KEEPALIVE.idle' must be a duration: a whole number followed by ms, s, m or h/,
  ],
  ['idle=-5s', 'ERR_INVALID_ARG_VALUE', /'SOCKET_KEEPALIVE.idle' must be a duration/],
  ['count=3.5', 'ERR_INVALID_ARG_VALUE', /'SOCKET_KEEPALIVE.count' must be a whole number/],
  ['idle', 'ERR_INVALID_ARG_VALUE', /'SOCKET_KEEPALIVE.idle' must be a duration/],
  [
    'delay=10s',
    'ERR_INVALID_ARG_VALUE',
    /unknown field "delay": write name=value pairs of idle, interval, count, userTimeout, servers/,
  ],
  ['idle=10s,idle=20s', 'ERR_INVALID_ARG_VALUE', /gives the field "idle" twice/],
  ['report=yes', 'ERR_INVALID_ARG_VALUE', /'SOCKET_KEEPALIVE.report' must be text, json, otel or off/],
  ['idle=10s,servers=no', 'ERR_INVALID_ARG_VALUE', /'SOCKET_KEEPALIVE.servers' must be on or off/],
];
