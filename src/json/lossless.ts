// A JSON codec that loses nothing a runtime cares about. `JSON.parse` turns every number into a
// double, so RLIM_INFINITY (18446744073709551615) or a seccomp argument mask above 2^53 comes
// back changed; here integers beyond Number.MAX_SAFE_INTEGER become bigint and are written back
// digit for digit. It also refuses what a hostile config.json could use against us: duplicate
// keys (which copy of a field would runc honour?), unbounded nesting and trailing garbage.

import { randomBytes } from 'node:crypto';

export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };

export class JsonSyntaxError extends Error {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  constructor(reason: string, text: string, offset: number) {
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    super(`${reason} at line ${line} column ${column}`);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

export interface ParseOptions {
  /** Deepest nesting accepted; a runtime-spec config never needs more than about 8. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 128;

/** Sticky, shared by every parse (one parse runs at a time: it never yields). */
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

export function parseJson(text: string, options: ParseOptions = {}): Json {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  let pos = 0;

  const fail = (reason: string, at = pos): never => {
    throw new JsonSyntaxError(reason, text, at);
  };
  const skipWhitespace = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };
  const describe = (at: number) => (at >= text.length ? 'end of input' : `'${text[at]}'`);

  const parseString = (): string => {
    const start = pos; // at the opening quote
    pos++;
    let out = '';
    let chunkStart = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunkStart, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(chunkStart, pos);
        const e = text[pos + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          pos += 2;
        } else if (e === 'u') {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else {
          fail('bad escape in string');
        }
        chunkStart = pos;
        continue;
      }
      pos++;
    }
  };

  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail(`unexpected ${describe(pos)}`);
    const literal = m[0];
    pos += literal.length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(literal);
      return Number.isSafeInteger(n) ? n : BigInt(literal);
    }
    return Number(literal);
  };

  const parseValue = (depth: number): Json => {
    skipWhitespace();
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') return parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    if (c === 't' && text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (c === 'f' && text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (c === 'n' && text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    return fail(`unexpected ${describe(pos)}`);
  };

  const parseObject = (depth: number): Json => {
    pos++; // {
    const obj: { [key: string]: Json } = {};
    skipWhitespace();
    if (text[pos] === '}') {
      pos++;
      return obj;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') fail(`expected a key, found ${describe(pos)}`);
      const keyAt = pos;
      const key = parseString();
      if (Object.hasOwn(obj, key)) fail(`duplicate key "${key}"`, keyAt);
      skipWhitespace();
      if (text[pos] !== ':') fail(`expected ':', found ${describe(pos)}`);
      pos++;
      const value = parseValue(depth);
      // Plain assignment keeps the object in V8's fast (hidden class) form, which every pass
      // reads; "__proto__" alone is defined, so it is an own property, never a prototype switch.
      if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      else obj[key] = value;
      skipWhitespace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      fail(`expected ',' or '}', found ${describe(pos)}`);
    }
  };

  const parseArray = (depth: number): Json => {
    pos++; // [
    const arr: Json[] = [];
    skipWhitespace();
    if (text[pos] === ']') {
      pos++;
      return arr;
    }
    for (;;) {
      arr.push(parseValue(depth));
      skipWhitespace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      fail(`expected ',' or ']', found ${describe(pos)}`);
    }
  };

  if (text.charCodeAt(0) === 0xfeff) pos = 1; // tolerate a UTF-8 byte order mark
  const value = parseValue(0);
  skipWhitespace();
  if (pos < text.length) fail(`unexpected ${describe(pos)} after the document`);
  return value;
}

/**
 * A stand-in for a bigint while the native serialiser runs: a string no config can contain, since
 * it carries 128 random bits drawn when this module loads.
 */
const BIGINT_MARK = `bulwark-bigint-${randomBytes(16).toString('hex')}:`;
const BIGINT_MARKED = new RegExp(`"${BIGINT_MARK}(-?[0-9]+)"`, 'g');

/**
 * Serialise with bigint written as its exact digits. `indent` as in JSON.stringify. The native
 * serialiser does the work (this runs several times per create, and a hand-written walker cost
 * three times as much): first as it is, since most documents hold no bigint; if one does, again
 * with each bigint marked, and the marks replaced by the digits.
 */
export function stringifyJson(value: unknown, indent = 2): string {
  try {
    return JSON.stringify(value, null, indent) ?? 'null';
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
  }
  const marked = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v.toString()}` : v), indent) ?? 'null';
  return marked.replace(BIGINT_MARKED, '$1');
}

/** Whether a bigint appears anywhere in `value` (a walk that allocates nothing). */
export function containsBigint(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (containsBigint(item)) return true;
    return false;
  }
  if (value && typeof value === 'object') {
    for (const key in value) if (Object.hasOwn(value, key) && containsBigint((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** A copy in which every bigint is a (possibly rounded) number: for schema checks only. */
export function toApproximateNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toApproximateNumbers);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, {
        value: toApproximateNumbers((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
