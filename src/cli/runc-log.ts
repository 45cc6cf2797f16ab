// runc's log lines, byte for byte. containerd passes `--log <bundle>/log.json --log-format json`
// and shows the last error in that file to the user (`kubectl describe pod`), so a Bulwark
// denial must look exactly like a runc error. runc 1.1.5 logs through logrus 1.9.0, built with
// Go 1.19; the escaping rules below are theirs and the tests hold lines runc itself wrote.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { Finding } from '../passes/types.js';

export type LogLevel = 'error' | 'warning' | 'info' | 'debug';
export type LogFormat = 'json' | 'text';

const hex = (code: number, width: number): string => code.toString(16).padStart(width, '0');

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Go's time.RFC3339 at second precision, in UTC (runc prints local time; on a UTC host the two
 * are identical, and UTC keeps this pure). An invalid Date prints as Go's zero time instead of
 * throwing: this runs on the way out of a failing call.
 */
export function formatGoTime(time: Date): string {
  if (Number.isNaN(time.getTime())) return '0001-01-01T00:00:00Z';
  return `${pad(time.getUTCFullYear(), 4)}-${pad(time.getUTCMonth() + 1)}-${pad(time.getUTCDate())}` +
    `T${pad(time.getUTCHours())}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())}Z`;
}

const isLoneSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdfff;

// encoding/json with HTML escaping on (logrus's default): these become \u escapes.
const JSON_U_ESCAPED = new Set(['<', '>', '&', '\u2028', '\u2029']);
const JSON_SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t',
};

/** A JSON string literal as Go 1.19's encoding/json writes it (JSON.stringify differs). */
export function goJsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    const short = JSON_SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (code < 0x20 || JSON_U_ESCAPED.has(ch)) out += `\\u${hex(code, 4)}`;
    // Go replaces invalid UTF-8 with U+FFFD; a lone surrogate is JavaScript's equivalent.
    else if (isLoneSurrogate(code)) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

// strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const GO_CONTROL_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
};

/** Go's strconv.Quote (what logrus's `%q` produces). */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (GO_PRINTABLE.test(ch)) out += ch;
    else if (GO_CONTROL_ESCAPES[ch] !== undefined) out += GO_CONTROL_ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (isLoneSurrogate(code)) out += '\\ufffd';
    else if (code < 0x10000) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return out + '"';
}

/** logrus's TextFormatter leaves a value bare only if every character is in this set. */
const TEXT_BARE = /^[A-Za-z0-9\-._/@^+]*$/;

const textValue = (text: string): string => (TEXT_BARE.test(text) ? text : goQuote(text));

/**
 * One log line as runc writes it to its `--log` file, newline included.
 * json: `{"level":"error","msg":"...","time":"2026-11-23T17:41:50Z"}` (Go sorts the keys).
 * text: `time="..." level=error msg="..."` (logrus leaves msg out when it is empty).
 */
export function formatLogLine(level: LogLevel, msg: string, format: LogFormat, time: Date): string {
  const stamp = formatGoTime(time);
  if (format === 'json') {
    return `{"level":${goJsonString(level)},"msg":${goJsonString(msg)},"time":${goJsonString(stamp)}}\n`;
  }
  const message = msg === '' ? '' : ` msg=${textValue(msg)}`;
  return `time=${textValue(stamp)} level=${textValue(level)}${message}\n`;
}

// Node opens every file with O_CLOEXEC (libuv adds it), so it is not spelled out here.
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Append one line to runc's log file with a single write(2), so it never interleaves with
 * another writer's line. Never follows a symlink in the last component. Throws Node's own
 * error (code ELOOP, EACCES, ...) so the caller can fall back to stderr.
 */
export function appendLogLine(path: string, line: string): void {
  const bytes = Buffer.from(line, 'utf8');
  const fd = openSync(path, APPEND_FLAGS, 0o600);
  try {
    const written = writeSync(fd, bytes);
    if (written !== bytes.length) {
      throw new Error(`short write to ${path}: ${written} of ${bytes.length} bytes`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The one line a user reads when Bulwark refuses a container:
 * "bulwark: denied by profile restricted: process.capabilities adds CAP_SYS_ADMIN".
 */
export function denialMessage(profile: string, findings: readonly Finding[]): string {
  const denials = findings.filter((finding) => finding.action === 'deny');
  const head = `bulwark: denied by profile ${profile}`;
  if (denials.length === 0) return head;
  const first = denials[0];
  const what = [first.path, first.message].filter((part) => part !== '').join(' ');
  const more = denials.length > 1
    ? `; and ${denials.length - 1} more (run \`bulwark explain\` for all)`
    : '';
  return `${head}: ${what}${more}`;
}
