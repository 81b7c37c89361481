/**
 * Which log lines reach the terminal (everything goes to the log file): errors, and the first of
 * each forwarder or replay warning. An error repeated word for word (the same refused channel for
 * 300 incidents) is shown once.
 */
import type { LogLine } from './log';

export const terminalLines = (warn: (line: string) => void, logFile: string): ((line: LogLine) => void) => {
  const seenWarnings = new Set<string>();
  const seenErrors = new Set<string>();
  return (line: LogLine) => {
    if (line.level === 'error') {
      const detail = line.fields.errorMessage
        ? ` (${String(line.fields.errorMessage)})`
        : line.fields.error
          ? ` (${String(line.fields.error)})`
          : '';
      const text = `${line.component}: ${line.message}${detail}`;
      if (seenErrors.has(text)) return;
      seenErrors.add(text);
      warn(text);
    } else if (
      (line.component === 'forwarder' || line.component === 'replay') &&
      line.level === 'warn' &&
      !seenWarnings.has(line.message)
    ) {
      seenWarnings.add(line.message);
      warn(
        `${line.component}: ${line.message}${line.fields.error ? ` (${String(line.fields.error)})` : ''}; see ${logFile}`,
      );
    }
  };
};
