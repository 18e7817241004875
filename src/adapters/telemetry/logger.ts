import bunyan from 'bunyan';

export type Logger = bunyan;

/** Bunyan JSON lines on stdout; request loggers are children carrying `req_id`. */
export function createLogger(level: bunyan.LogLevelString, fields: Record<string, unknown> = {}): Logger {
  return bunyan.createLogger({
    name: 'artstore',
    level,
    ...fields,
    serializers: { err: bunyan.stdSerializers.err },
  });
}
