/**
 * Logging in local mode: every component's structured log goes to `<data>/pullwatch.log` as JSON
 * lines; what a person must see (errors, lost watches) is also handed to the terminal. One object
 * serves both logging interfaces: the functions' `Log` and the forwarder's `Logger`.
 */
import { type WriteStream, createWriteStream } from 'node:fs';
import { type Log, describeError } from '../functions/_common/observability';
import type { Logger } from '../forwarder/log';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  level: Level;
  component: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface LocalLog {
  /** A logger for one component (`forwarder`, `classify`, `notify`…). */
  for(component: string): Log & Logger;
  close(): Promise<void>;
}

const flatten = (extra: readonly unknown[]): Record<string, unknown> => {
  const fields: Record<string, unknown> = {};
  for (const item of extra) {
    if (item instanceof Error) Object.assign(fields, describeError(item));
    else if (typeof item === 'string') fields.detail = item;
    else if (item !== null && typeof item === 'object') Object.assign(fields, item);
  }
  return fields;
};

export const localLog = (file: string | undefined, onLine: (line: LogLine) => void = () => {}): LocalLog => {
  const stream: WriteStream | undefined =
    file === undefined ? undefined : createWriteStream(file, { flags: 'a' });
  stream?.on('error', () => {
    // A log that cannot be written must not stop the pipeline.
  });
  const emit = (level: Level, component: string, message: string, extra: readonly unknown[]) => {
    const fields = flatten(extra);
    stream?.write(
      `${JSON.stringify({ time: new Date().toISOString(), level, component, msg: message, ...fields })}\n`,
    );
    onLine({ level, component, message, fields });
  };
  return {
    for: (component) => ({
      debug: (message: string, ...extra: unknown[]) => emit('debug', component, message, extra),
      info: (message: string, ...extra: unknown[]) => emit('info', component, message, extra),
      warn: (message: string, ...extra: unknown[]) => emit('warn', component, message, extra),
      error: (message: string, ...extra: unknown[]) => emit('error', component, message, extra),
    }),
    close: () =>
      new Promise<void>((resolve) => {
        if (stream === undefined) resolve();
        else stream.end(() => resolve());
      }),
  };
};
