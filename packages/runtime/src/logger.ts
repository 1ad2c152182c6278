// Logging as Thanos does it: `--log.level` and `--log.format=logfmt|json`, with pino
// underneath. Thanos' logfmt lines look like
//   ts=2024-01-01T00:00:00.000Z level=info component=sidecar msg="starting"
// so the logfmt format renders pino's objects into that shape on the way out.

import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger as PinoLogger, DestinationStream } from 'pino';

export type Logger = PinoLogger;
export type LogFormat = 'logfmt' | 'json';
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr by default, as Thanos. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new Error(`log.level: unknown level "${level}" (want one of ${LOG_LEVELS.join(', ')})`);
  const format = opts.format ?? 'logfmt';
  if (format !== 'logfmt' && format !== 'json') throw new Error(`log.format: unknown format "${format}" (want logfmt or json)`);
  const out = opts.destination ?? process.stderr;
  const dest: DestinationStream = format === 'json' ? (out as DestinationStream) : logfmtStream(out);
  return pino(
    {
      level,
      base: undefined,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    dest,
  );
}

/** A logger that discards everything (tests, library defaults). */
export function nopLogger(): Logger {
  return pino({ level: 'silent' });
}

function logfmtStream(out: NodeJS.WritableStream): DestinationStream {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        try {
          out.write(jsonLineToLogfmt(line) + '\n');
        } catch {
          out.write(line + '\n');
        }
      }
      cb();
    },
  }) as unknown as DestinationStream;
}

/** Renders one pino JSON line as logfmt with ts and level first, msg after them. */
export function jsonLineToLogfmt(line: string): string {
  const obj = JSON.parse(line) as Record<string, unknown>;
  const parts: string[] = [];
  const push = (k: string, v: unknown): void => {
    parts.push(`${k}=${logfmtValue(v)}`);
  };
  if ('ts' in obj) push('ts', obj.ts);
  if ('level' in obj) push('level', obj.level);
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'ts' || k === 'level' || k === 'msg' || k === 'err') continue;
    push(k, v);
  }
  if ('msg' in obj) push('msg', obj.msg);
  if (obj.err !== undefined) push('err', typeof obj.err === 'object' && obj.err !== null ? ((obj.err as { message?: unknown }).message ?? obj.err) : obj.err);
  return parts.join(' ');
}

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s === '' || /[\s"=\\]/.test(s) || /[^\x20-\x7e]/.test(s) ? JSON.stringify(s) : s;
}
