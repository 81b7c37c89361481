/** Structured JSON logs, one object per line. Callers pass facts, never credentials or whole configs. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Errors become their name, message and (for AWS and Kubernetes errors) status code. */
export const describeError = (error: unknown): LogFields => {
  if (!(error instanceof Error)) return { error: String(error) };
  const extra = error as Error & {
    code?: unknown;
    statusCode?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  return {
    error: error.message,
    errorName: error.name,
    ...(extra.code === undefined ? {} : { errorCode: extra.code }),
    ...(extra.statusCode === undefined ? {} : { statusCode: extra.statusCode }),
    ...(extra.$metadata?.httpStatusCode === undefined ? {} : { statusCode: extra.$metadata.httpStatusCode }),
  };
};

export const jsonLogger = (
  write: (line: string) => void = (line) => process.stdout.write(line),
  minimum: LogLevel = 'info',
  base: LogFields = {},
): Logger => {
  const emit = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    if (RANK[level] < RANK[minimum]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields })}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
};

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
