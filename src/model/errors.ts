/**
 * The error taxonomy (STYLE.md §2.5). Every error the project raises on purpose is a
 * PromError with a stable `code`; subclasses say which room it came from.
 * @module
 */

/** Base class of every deliberate error, with a stable machine-readable code. */
export class PromError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PromError';
  }
}

/** Input text could not be parsed; `line` and `column` are 1-based, 0 when unknown. */
export class ParseError extends PromError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line = 0, column = 0, options?: { cause?: unknown }) {
    super('ERR_PARSE', line > 0 ? `${message} (line ${line}, column ${column})` : message, options);
    this.name = 'ParseError';
    this.line = line;
    this.column = column;
  }
}

/** A label or metric name, or a label set, broke a rule of the data model. */
export class LabelError extends PromError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_LABEL', message, options);
    this.name = 'LabelError';
  }
}

/** A configuration file or flag is invalid; the message names the file, line and key. */
export class ConfigError extends PromError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** A storage operation failed; hot-path rejections use frozen sentinels (storage/errors). */
export class StorageError extends PromError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StorageError';
  }
}

/** Bytes on disk are not what their format says; names the file and offset. */
export class CorruptionError extends StorageError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, message: string, options?: { cause?: unknown }) {
    super('ERR_CORRUPTION', `${file}: offset ${offset}: ${message}`, options);
    this.name = 'CorruptionError';
    this.file = file;
    this.offset = offset;
  }
}

/** The categories of the HTTP API's error envelope (web/api/v1). */
export type QueryErrorType =
  'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found';

/** A PromQL query failed; `type` maps onto the API's errorType and HTTP status. */
export class QueryError extends PromError {
  readonly type: QueryErrorType;
  constructor(type: QueryErrorType, message: string, options?: { cause?: unknown }) {
    super(`ERR_QUERY_${type.toUpperCase()}`, message, options);
    this.name = 'QueryError';
    this.type = type;
  }
}
