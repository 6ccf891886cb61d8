// admin's logger: the daemons' shared levelled logger (client/daemon/logger.ts).

import { createCapturingLogger as capture, type Logger } from '../client/daemon/logger.js'

export { LOG_LEVELS, parseLogLevel, createLogger, type Logger, type LogLevelName } from '../client/daemon/logger.js'

/** A logger that keeps lines in memory, prefixed '[nsqadmin] ' (tests print them only on failure). */
export function createCapturingLogger (levelName = 'debug'): Logger & { lines: string[] } {
  return capture('[nsqadmin] ', levelName)
}
